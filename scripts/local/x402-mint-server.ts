// A local x402 mint endpoint: a real resource server on the official packages (@x402/express
// with an in-process @x402/core facilitator) that sells the X402DemoToken for test USDC on the
// local chain. `npm start` runs it beside the app; tests start one per file. Modes (see
// x402-mint/modes.ts) make it misbehave the ways endpoints in the wild do.
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Request, type Response } from 'express';
import { getAddress, isAddress, parseEther, type Address, type Hex } from 'viem';
import { paymentMiddleware, x402ResourceServer } from '@x402/express';
import { decodePaymentSignatureHeader, encodePaymentRequiredHeader } from '@x402/core/http';
import type { HTTPRequestContext } from '@x402/core/server';
import { ExactEvmScheme } from '@x402/evm/exact/server';
import { declarePaymentIdentifierExtension, PAYMENT_IDENTIFIER } from '@x402/extensions/payment-identifier';
import { testUSDCAbi } from '@/lib/chain/contracts.generated';
import { deployDemoToken, mintDemoToken, serverWallets } from './x402-mint/chain';
import { localFacilitator } from './x402-mint/facilitator';
import {
  MAINNET_USDC,
  MINTS_TO_PAYER,
  TOKENLESS_PATH_MODES,
  V1_NETWORK_NAMES,
  misbehaviourCounter,
  parseMode,
  type X402MintMode,
} from './x402-mint/modes';
import {
  cannotMethod,
  idempotencyCache,
  nonceOf,
  nonX402,
  payerOf,
  paymentIdOf,
  paymentOf,
  txHashInstructions,
  txHashOutputSchema,
  txHashRefusal,
  v1PaymentRequired,
  voucherOutputSchema,
} from './x402-mint/shapes';
import { settleV1, type V1Terms } from './x402-mint/v1-route';

export type X402MintServerOptions = {
  rpcUrl: string;
  usdc: Address;
  port?: number;
  /** The server's key (owns and mints the token). Default: a fresh key given ETH with anvil_setBalance. */
  key?: Hex;
  /** Facilitator keys settling payments, each one at a time (default 4, fresh keys given ETH). */
  settlers?: number;
  mode?: X402MintMode;
  /** USDC base units per mint (default 0.01 USDC). */
  price?: bigint;
  /** Demo token base units minted per paid mint (default 100 tokens). */
  mintAmount?: bigint;
  maxTimeoutSeconds?: number;
  /** Misbehaving modes hit the first paid request of every group of this many (default 3). */
  every?: number;
  retryAfterSeconds?: number;
  slowMs?: number;
  queueDelayMs?: number;
  /** price-hold: how long a paid request is held before the 402 (default 15 s, past the buyer's timeout). */
  holdMs?: number;
  /** price-hold: when a held payment is settled, after it arrived (default 5 s); settle-later, payment-id: after answering. */
  settleLaterMs?: number;
  /** sold-out: honest sales before it sells out (default 2). */
  soldOutAfter?: number;
};

type QueueEntry = {
  queueId: string;
  status: 'pending' | 'completed' | 'failed';
  recipient: Address;
  amount: string;
  txHash?: Hex;
};

export async function startX402MintServer(options: X402MintServerOptions) {
  const { wallet, settlers, chainId } = await serverWallets(options.rpcUrl, {
    key: options.key,
    settlers: options.settlers ?? 4,
  });
  const tokenAddress = await deployDemoToken(wallet, 'x402 Demo Token', 'X4D');
  const defaultMode = options.mode ?? 'v2';
  const network = `eip155:${chainId}`;
  const v1Network = V1_NETWORK_NAMES[chainId];
  if (defaultMode === 'v1' && !v1Network)
    throw new Error(
      `x402 v1 needs a chain id with a v1 name (${Object.keys(V1_NETWORK_NAMES).join(', ')}); this chain is ${chainId}`,
    );
  const [name, version] = await Promise.all([
    wallet.readContract({ address: options.usdc, abi: testUSDCAbi, functionName: 'name' }),
    wallet.readContract({ address: options.usdc, abi: testUSDCAbi, functionName: 'version' }),
  ]);
  const domain = { name, version };
  const mintAmount = options.mintAmount ?? parseEther('100');
  const maxTimeoutSeconds = options.maxTimeoutSeconds ?? 60;
  const every = options.every ?? 3;
  const hits = misbehaviourCounter(every);
  // price-hold: `holdSold` once its first paid request arrived (every later one is held), `holdRaised` once it minted.
  const state = { price: options.price ?? 10_000n, priceRaised: false, holdSold: false, holdRaised: false };
  const stats = {
    requests: 0,
    unpaid: 0,
    paid: 0,
    rateLimited: 0,
    minted: 0,
    settleMs: 0,
    mintMs: 0,
    refused: 0,
    held: 0,
    lateSettled: 0,
    lateSettleFailed: 0,
    /** Paid requests answered from the payment-identifier cache (nothing minted again). */
    idempotentReplays: 0,
    statusReads: 0,
  };
  const settlingLater = new Set<string>();
  const hold = { holdMs: options.holdMs ?? 15_000, settleLaterMs: options.settleLaterMs ?? 5000 };
  const queue = new Map<string, QueueEntry>();
  const timers = new Set<NodeJS.Timeout>();
  const { client, settlerAddresses } = localFacilitator(settlers, network, stats, domain);
  const paymentIds = idempotencyCache();

  const modeOf = (req: Request) => parseMode(req.query.mode, defaultMode);
  const quantityOf = (body: unknown) => Number((body as { quantity?: unknown } | undefined)?.quantity ?? 1);
  const unitPrice = (mode: X402MintMode) =>
    (mode === 'price-rise' && state.priceRaised) || (mode === 'price-hold' && state.holdRaised)
      ? state.price * 2n
      : state.price;

  const resourceServer = new x402ResourceServer(client).register(
    network as `${string}:${string}`,
    new ExactEvmScheme(),
  );
  const price = (ctx: HTTPRequestContext) => {
    const mode = parseMode(ctx.adapter.getQueryParam?.('mode'), defaultMode);
    const quantity = BigInt(quantityOf(ctx.adapter.getBody?.()));
    const amount = (unitPrice(mode) * quantity * (mode === 'bulk-discount' && quantity > 1n ? 9n : 10n)) / 10n;
    if (mode === 'price-rise' && !ctx.paymentHeader) state.priceRaised = true;
    return { amount: amount.toString(), asset: options.usdc, extra: extraOf(mode) };
  };
  // What a 402's `extra` says: the asset's domain, or (as sellers in the wild write it) another.
  const extraOf = (mode: X402MintMode): Record<string, unknown> => {
    if (mode === 'foreign-domain') return { name: 'X4D Mint', version: '1' };
    if (mode === 'extra-contract')
      return {
        name: 'BANANA Mint',
        version: '1',
        symbol: 'X4D',
        contract: tokenAddress,
        outPerMint: mintAmount.toString(),
      };
    return { ...domain };
  };
  // banana-x402 is paid to a hot wallet, not to the token.
  const payToOf = (mode: X402MintMode) => (mode === 'extra-contract' ? wallet.account.address : tokenAddress);
  const accepts = {
    scheme: 'exact',
    network: network as `${string}:${string}`,
    payTo: (ctx: HTTPRequestContext) => payToOf(parseMode(ctx.adapter.getQueryParam?.('mode'), defaultMode)),
    price,
    maxTimeoutSeconds,
    extra: { paymentFlow: 'upfront' },
  };
  const route = {
    accepts,
    description: 'Mint the x402 demo token',
    mimeType: 'application/json',
    // Every v2 402 of this server declares the official idempotency extension (optional).
    extensions: { [PAYMENT_IDENTIFIER]: declarePaymentIdentifierExtension(false) },
  };
  const routes = { 'POST /api/mint/*': route, 'GET /api/mint/*': route, 'POST /mint': route, 'GET /mint': route };

  const app = express();
  app.use(express.json({ limit: '16kb' }));
  app.get('/health', (_req, res) => void res.json({ ok: true }));
  app.get('/', (_req, res) => void res.json(describe()));
  // What the server has seen and done (requests, probes, 429s, mints, time settling): for
  // benchmarks and tests that run it as its own process.
  app.get('/stats', (_req, res) => void res.json(stats));
  app.get('/api/queue/:queueId', (req, res) => {
    stats.statusReads++;
    const entry = queue.get(req.params.queueId);
    if (!entry) return void res.status(404).json({ error: 'unknown queueId' });
    res.json(entry);
  });

  // Checks everything that can be refused before money is involved, and answers the modes the
  // v2 middleware does not speak; the rest goes on to the middleware and then mint().
  app.all(['/api/mint/:token', '/mint'], async (req, res, next) => {
    stats.requests++;
    const mode = modeOf(req);
    if (req.method !== 'GET' && req.method !== 'POST') return void res.status(405).json({ error: 'GET or POST' });
    if (mode === 'get-only' && req.method !== 'GET') return void cannotMethod(req, res);
    const token = (req.params as { token?: string }).token;
    if (token !== undefined && (!isAddress(token) || getAddress(token) !== tokenAddress))
      return void res.status(404).json({ error: 'unknown token' });
    const body = (req.body ?? {}) as { quantity?: unknown; recipient?: unknown; to?: unknown; userAddress?: unknown };
    const quantity = quantityOf(body);
    if (!Number.isInteger(quantity) || quantity < 1 || quantity > 10)
      return void res.status(400).json({ error: 'quantity must be an integer 1-10' });
    if (body.recipient !== undefined && (typeof body.recipient !== 'string' || !isAddress(body.recipient)))
      return void res.status(400).json({ error: 'recipient must be an address' });
    const paid = Boolean(req.header('payment-signature') || req.header('x-payment'));
    if (!paid) stats.unpaid++;
    if (mode === 'other-network') return void otherNetwork(req, res, quantity);
    if (mode === 'non-x402') return void nonX402(res, { amount: state.price, payTo: tokenAddress });
    if (mode === 'needs-fields' && (typeof body.to !== 'string' || !isAddress(body.to)))
      return void res.status(400).json({ error: 'Missing required fields: to' });
    if (mode === 'voucher' || mode === 'hash-as-payment' || mode === 'hash-as-payment-told')
      return void wildV1(req, res, mode, quantity);
    if (paid && ['deliver-without-settle', 'settle-later', 'payment-id', 'no-payment-id'].includes(mode))
      return void deliverFirst(req, res, mode);
    if (paid && mode === 'refuse-all') {
      stats.refused++;
      return void res.status(400).json({ error: 'payment rejected' });
    }
    if (paid && mode === 'rate-limit-storm') {
      stats.rateLimited++;
      res.setHeader('Retry-After', '0');
      return void res.status(429).json({ error: 'Too many requests' });
    }
    if (paid && mode === 'price-hold') {
      // The first paid request is sold at the old price; every one after it (even in parallel) is held.
      if (state.holdSold) return void holdAndSettleLater(req, res, quantity);
      state.holdSold = true;
    }
    if (paid && mode === 'no-answer') {
      stats.held++;
      return; // the buyer's timeout ends the exchange; stop() closes what is left
    }
    if (paid && mode === 'rate-limit' && hits(mode)) {
      stats.rateLimited++;
      // Alternate the two ways endpoints say how long to wait.
      if (stats.rateLimited % 2 === 1) res.setHeader('Retry-After', String(options.retryAfterSeconds ?? 1));
      return void res
        .status(429)
        .json({ error: `Too many requests, please wait ${options.retryAfterSeconds ?? 1} seconds` });
    }
    if (mode !== 'v1' || !v1Network) return next();
    try {
      const terms = {
        network: v1Network,
        asset: options.usdc,
        amount: unitPrice(mode) * BigInt(quantity),
        payTo: tokenAddress,
        maxTimeoutSeconds,
        domain,
      };
      const settled = await settleV1(req, res, client, terms);
      if (settled) await mint(req, res, mode, settled.payer as Address);
    } catch (error) {
      res.status(500).json({ error: (error as Error).message });
    }
  });
  app.use(paymentMiddleware(routes, resourceServer));
  const paidHandler = async (req: Request, res: Response) => {
    const payload = decodePaymentSignatureHeader(req.header('payment-signature')!);
    const payer = (payload.payload as { authorization: { from: Address } }).authorization.from;
    await mint(req, res, modeOf(req), payer);
  };
  app.post(['/api/mint/:token', '/mint'], paidHandler);
  app.get(['/api/mint/:token', '/mint'], paidHandler);

  async function mint(req: Request, res: Response, mode: X402MintMode, payer: Address) {
    stats.paid++;
    if (mode === 'take-and-run') return void res.json({ success: true, message: 'Payment settled' });
    if (mode === 'sold-out' && stats.minted >= (options.soldOutAfter ?? 2))
      return void res.status(410).json({ error: 'Sold out' });
    const body = (req.body ?? {}) as { quantity?: unknown; recipient?: string; to?: string };
    const recipient = getAddress(MINTS_TO_PAYER.includes(mode) ? payer : (body.recipient ?? body.to ?? payer));
    const amount = mintAmount * BigInt(mode === 'ignores-quantity' ? 1 : quantityOf(body));
    if (mode === 'queued' || mode === 'queued-fails' || mode === 'queued-stuck' || mode === 'queued-elsewhere') {
      const queueId = randomUUID();
      const entry: QueueEntry = { queueId, status: 'pending', recipient, amount: amount.toString() };
      queue.set(entry.queueId, entry);
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (mode === 'queued-stuck') return;
        if (mode === 'queued-fails') return void (entry.status = 'failed');
        mintDemoToken(wallet, tokenAddress, recipient, amount).then(
          (txHash) => Object.assign(entry, { status: 'completed', txHash }, void stats.minted++),
          () => (entry.status = 'failed'),
        );
      }, options.queueDelayMs ?? 2000);
      timers.add(timer);
      const statusPath = `/api/queue/${queueId}`;
      // Another origin that still reaches this server, so a buyer that followed it would show in statusReads.
      const statusUrl =
        mode === 'queued-elsewhere' ? `${url.replace('127.0.0.1', 'localhost')}${statusPath}` : statusPath;
      return void res.json({ queueId, status: entry.status, statusUrl });
    }
    const mintStarted = performance.now();
    const txHash = await mintDemoToken(wallet, tokenAddress, recipient, amount);
    stats.mintMs += performance.now() - mintStarted;
    stats.minted++;
    if (mode === 'price-hold') state.holdRaised = true;
    const misbehave = (mode === 'settle-then-500' || mode === 'slow') && hits(mode);
    if (misbehave && mode === 'settle-then-500') return void res.status(500).json({ error: 'internal error' });
    if (misbehave) await new Promise((r) => setTimeout(r, options.slowMs ?? 15_000));
    const padding = mode === 'verbose' ? { log: 'x'.repeat(50_000) } : {};
    res.json({ success: true, recipient, amount: amount.toString(), mintTxHash: txHash, ...padding });
  }

  /**
   * Sellers that deliver first: mint to the recipient (the payer, for deliver-without-settle),
   * answer 200 without a settlement, and settle later or never. payment-id answers a re-sent id
   * from its cache; payment-id and no-payment-id answer the first of each `every` requests late.
   */
  async function deliverFirst(req: Request, res: Response, mode: X402MintMode) {
    const payload = paymentOf(req);
    const payer = payerOf(payload);
    if (!payload || !payer || !isAddress(payer)) return void res.status(400).json({ error: 'bad payment header' });
    const id = mode === 'payment-id' ? paymentIdOf(payload) : undefined;
    const cached = id ? paymentIds.get(id) : undefined;
    if (cached) {
      stats.idempotentReplays++;
      const answer = await cached;
      return void res.status(answer.status).json(answer.body);
    }
    const done = id ? paymentIds.begin(id) : undefined;
    // Called without a catch (the route answers the modes the middleware does not): a failure
    // (the node down, a mint that reverts) is answered 500 here, and a waiting re-send with it.
    try {
      const requirement = payload.accepted;
      // pog-token-api delivers for any signature; the others check it first.
      if (mode !== 'deliver-without-settle') {
        const verified = await client.verify(payload, requirement);
        if (!verified.isValid) {
          const answer = { status: 402, body: { error: verified.invalidReason ?? 'invalid payment' } };
          done?.(answer);
          return void res.status(answer.status).json(answer.body);
        }
      }
      const body = (req.body ?? {}) as { recipient?: string };
      const recipient = getAddress(mode === 'deliver-without-settle' ? payer : (body.recipient ?? payer));
      const amount = mintAmount * BigInt(quantityOf(req.body));
      stats.paid++;
      const txHash = await mintDemoToken(wallet, tokenAddress, recipient, amount);
      stats.minted++;
      const answer = { status: 200, body: { success: true, recipient, amount: amount.toString(), mintTxHash: txHash } };
      done?.(answer);
      if ((mode === 'payment-id' || mode === 'no-payment-id') && hits(mode))
        await new Promise((r) => setTimeout(r, options.slowMs ?? 15_000));
      if (mode !== 'deliver-without-settle') settleLater(payload);
      if (!res.destroyed) res.status(answer.status).json(answer.body);
    } catch (error) {
      const answer = { status: 500, body: { error: (error as Error).message } };
      done?.(answer);
      if (!res.headersSent && !res.destroyed) res.status(answer.status).json(answer.body);
    }
  }

  function settleLater(payload: NonNullable<ReturnType<typeof paymentOf>>) {
    const nonce = nonceOf(payload);
    if (!nonce || settlingLater.has(nonce)) return;
    settlingLater.add(nonce);
    const timer = setTimeout(() => {
      timers.delete(timer);
      client.settle(payload, payload.accepted).then(
        (r) => (r.success ? stats.lateSettled++ : stats.lateSettleFailed++),
        () => stats.lateSettleFailed++,
      );
    }, hold.settleLaterMs);
    timers.add(timer);
  }

  /**
   * The v1 wild shapes: geoplet's voucher (a 402 whose output is a voucher; a paid request is
   * verified and answered with one, never settled here) and riz877's transaction-hash "payment" (a
   * standard-looking 402, or one that says so; a payment is refused with 403).
   */
  async function wildV1(
    req: Request,
    res: Response,
    mode: 'voucher' | 'hash-as-payment' | 'hash-as-payment-told',
    quantity: number,
  ) {
    const body = (req.body ?? {}) as { userAddress?: unknown; fid?: unknown };
    const missing = [!body.userAddress && 'userAddress', !(body.fid ?? req.query.fid) && 'fid'].filter(Boolean);
    if (mode === 'voucher' && missing.length > 0)
      return void res
        .status(400)
        .json({ error: { code: 'API_ERROR', message: `Missing required fields: ${missing.join(', ')}` } });
    const terms = {
      network: v1Network ?? network,
      asset: options.usdc,
      amount: state.price * BigInt(quantity),
      payTo: wallet.account.address,
      maxTimeoutSeconds,
      domain,
    };
    const payload = paymentOf(req);
    if (!payload) {
      const more =
        mode === 'voucher'
          ? { extra: { ...domain }, outputSchema: voucherOutputSchema }
          : { outputSchema: txHashOutputSchema };
      const besides = mode === 'hash-as-payment-told' ? txHashInstructions(terms) : {};
      // v1 as in the wild; on a chain without a v1 name, the same terms in a v2 header.
      if (v1Network) return void v1PaymentRequired(req, res, terms, more, besides);
      return void v2PaymentRequired(req, res, terms, more);
    }
    stats.paid++;
    if (mode !== 'voucher') {
      stats.refused++;
      return void res.status(403).json(txHashRefusal);
    }
    const voucher = { to: String(body.userAddress), nonce: String(Date.now()), deadline: String(Date.now() + 3600) };
    res.json({
      success: true,
      voucher,
      signature: `0x${'ab'.repeat(65)}`,
      message: 'Mint signature generated (payment verified, not settled yet)',
    });
  }

  /** A v2 402 for this request: the terms in a PAYMENT-REQUIRED header (`extra` defaults to the asset's domain). */
  function v2PaymentRequired(
    req: Request,
    res: Response,
    terms: V1Terms,
    more: { extra?: Record<string, unknown>; error?: string; description?: string },
  ) {
    const requirement = {
      scheme: 'exact',
      network: terms.network as `${string}:${string}`,
      asset: terms.asset,
      amount: terms.amount.toString(),
      payTo: terms.payTo,
      maxTimeoutSeconds: terms.maxTimeoutSeconds,
      extra: more.extra ?? { ...terms.domain },
    };
    const resource = {
      url: `http://${req.headers.host}${req.originalUrl}`,
      ...(more.description ? { description: more.description } : {}),
      mimeType: 'application/json',
    };
    res.setHeader(
      'PAYMENT-REQUIRED',
      encodePaymentRequiredHeader({
        x402Version: 2,
        error: more.error ?? 'Payment required',
        resource,
        accepts: [requirement],
      }),
    );
    res.status(402).json({});
  }

  /** price-hold after the first sale: keep the payment, settle it later, answer 402 at the new price after holdMs. */
  function holdAndSettleLater(req: Request, res: Response, quantity: number) {
    stats.held++;
    const payload = paymentOf(req);
    if (payload?.accepted) settleLater(payload);
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (res.writableEnded || res.destroyed) return;
      const terms = {
        network,
        asset: options.usdc,
        amount: unitPrice('price-hold') * BigInt(quantity),
        payTo: tokenAddress,
        maxTimeoutSeconds,
        domain,
      };
      v2PaymentRequired(req, res, terms, { error: 'price changed' });
    }, hold.holdMs);
    timers.add(timer);
  }

  function otherNetwork(req: Request, res: Response, quantity: number) {
    const terms = {
      network: 'eip155:1',
      asset: MAINNET_USDC,
      amount: state.price * BigInt(quantity),
      payTo: tokenAddress,
      maxTimeoutSeconds,
      domain: { name: 'USD Coin', version: '2' },
    };
    v2PaymentRequired(req, res, terms, { description: 'Mint the x402 demo token' });
  }

  const server: Server = await new Promise((resolve) => {
    const server = app.listen(options.port ?? 0, '127.0.0.1', () => resolve(server));
  });
  const port = (server.address() as { port: number }).port;
  const url = `http://127.0.0.1:${port}`;
  const mintUrl = (mode?: X402MintMode) =>
    `${url}${mode && TOKENLESS_PATH_MODES.includes(mode) ? '/mint' : `/api/mint/${tokenAddress}`}${mode ? `?mode=${mode}` : ''}`;

  function describe() {
    return {
      token: tokenAddress,
      usdc: options.usdc,
      network,
      v1Network,
      chainId,
      price: state.price.toString(),
      mintAmount: mintAmount.toString(),
      payTo: tokenAddress,
      mode: defaultMode,
      mintUrl: mintUrl(),
      settlers: settlerAddresses,
    };
  }

  return {
    url,
    port,
    tokenAddress,
    payTo: tokenAddress,
    usdc: options.usdc,
    network,
    v1Network,
    chainId,
    mintAmount,
    domain,
    serverAddress: wallet.account.address,
    /** The hot wallet extra-contract, voucher and the hash-as-payment modes are paid to. */
    hotWallet: wallet.account.address,
    settlerAddresses,
    stats,
    queue,
    mintUrl,
    get price() {
      return state.price;
    },
    setPrice(amount: bigint) {
      state.price = amount;
    },
    /** price-hold sells honestly again until its next sale, then holds and settles as given. */
    resetPriceHold(timing: { holdMs?: number; settleLaterMs?: number } = {}) {
      state.holdSold = false;
      state.holdRaised = false;
      Object.assign(hold, timing);
    },
    async stop() {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type X402MintServer = Awaited<ReturnType<typeof startX402MintServer>>;

function arg(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const rpcUrl = arg('rpc') ?? 'http://127.0.0.1:8545';
  const usdc = arg('usdc');
  if (!usdc || !isAddress(usdc)) {
    console.error(
      'usage: tsx scripts/local/x402-mint-server.ts --usdc 0x… [--rpc URL] [--port N] [--mode v2|v1|…] [--price baseUnits] [--settlers N]',
    );
    process.exit(2);
  }
  const server = await startX402MintServer({
    rpcUrl,
    usdc,
    port: arg('port') ? Number(arg('port')) : undefined,
    mode: parseMode(arg('mode') ?? process.env.X402_MINT_MODE, 'v2'),
    price: arg('price') ? BigInt(arg('price')!) : undefined,
    settlers: arg('settlers') ? Number(arg('settlers')) : undefined,
  });
  console.log(
    `x402 mint server on ${server.url}: ${server.mintUrl()} (token ${server.tokenAddress}, ${server.price} USDC base units per mint)`,
  );
  const stop = () => void server.stop().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
