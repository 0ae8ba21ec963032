import path from 'node:path';
import { x402Client } from '@x402/core/client';
import { decodePaymentResponseHeader } from '@x402/core/http';
import { toClientEvmSigner } from '@x402/evm';
import { registerExactEvmScheme } from '@x402/evm/exact/client';
import {
  appendPaymentIdentifierToExtensions,
  generatePaymentId,
  PAYMENT_IDENTIFIER,
} from '@x402/extensions/payment-identifier';
import { wrapFetchWithPayment } from '@x402/fetch';
import { formatUnits, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { readLocalStack } from '@/lib/local-stack';

// `npm run x402:buy -- [quantity] [token address | x402 mint URL] [recipient]`: an agent with its own wallet
// buys a mint task from AgentMint over x402, as any agent would: the official client
// (@x402/fetch wrapFetchWithPayment, the exact EVM scheme, a viem account), one paid POST, then
// the task's status with the task token until it ends. Only the HTTP API is used: point it at
// any AgentMint with AGENTMINT_URL and a funded key in BUYER_KEY.
//
// Defaults for the local stack: the running `npm start` (DATA_DIR/stack.json), anvil's public test
// account #2 (10,000 test USDC from npm start; never use this key on a real network), the first
// demo token.

const ANVIL_KEY_2 = '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a';
const TERMINAL = ['completed', 'failed', 'cancelled'];
const STATUS_TIMEOUT_MS = 5 * 60_000;

function appUrl(): string {
  if (process.env.AGENTMINT_URL) return new URL(process.env.AGENTMINT_URL).origin;
  const stack = readLocalStack(path.resolve(process.env.DATA_DIR ?? '.data'));
  if (!stack?.publicUrl)
    throw new Error('No running `npm start` found (DATA_DIR/stack.json): start it, or set AGENTMINT_URL.');
  return stack.publicUrl;
}

async function getJson(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
  const body = (await res.json()) as any;
  if (!res.ok) throw new Error(`${url}: ${res.status} ${body?.error?.message ?? ''}`);
  return body;
}

async function main() {
  const [quantityArg = '3', what, recipient] = process.argv.slice(2);
  const base = appUrl();
  const account = privateKeyToAccount((process.env.BUYER_KEY ?? ANVIL_KEY_2) as Hex);
  const config = await getJson(`${base}/api/config`);
  const network = `eip155:${config.chainId}` as const;
  const target = what?.startsWith('http') ? { url: what } : { token: what ?? config.tokens[0].address };

  // The official client. Spend controls must name the USDC when it is not a well-known asset (the
  // local TestUSDC); the default cap is $1 a payment, a task may cost more.
  const client = new x402Client();
  registerExactEvmScheme(client, { signer: toClientEvmSigner(account), networks: [network] });
  client.setSpendControls({
    maxAmountPerPayment: false,
    allowedAssets: [{ network, asset: config.usdc.address, maxAmountPerPayment: String(100_000_000n) }],
  });
  // A payment-identifier makes a retry of this purchase safe: the same id answers the same task.
  const paymentId = generatePaymentId('buy_');
  client.registerExtension({
    key: PAYMENT_IDENTIFIER,
    enrichPaymentPayload: async (payload) => ({
      ...payload,
      extensions: appendPaymentIdentifierToExtensions(structuredClone(payload.extensions ?? {}), paymentId),
    }),
  });
  const payingFetch = wrapFetchWithPayment(fetch, client);

  const request = { ...target, quantity: Number(quantityArg), payer: account.address, ...(recipient && { recipient }) };
  console.log(`buying ${JSON.stringify(request)} from ${base}/api/x402/mint`);
  const res = await payingFetch(`${base}/api/x402/mint`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(request),
    signal: AbortSignal.timeout(120_000),
  });
  const bought = (await res.json()) as any;
  if (res.status !== 201) {
    const required = res.headers.get('payment-required');
    const reason = required ? JSON.parse(Buffer.from(required, 'base64').toString()).error : undefined;
    throw new Error(`not bought: ${res.status} ${bought?.error?.message ?? reason ?? JSON.stringify(bought)}`);
  }
  const settlement = decodePaymentResponseHeader(res.headers.get('payment-response')!);
  const { task, taskToken, statusUrl } = bought;
  console.log(`paid ${formatUnits(BigInt(task.totalCost), 6)} USDC into agent wallet ${task.agentAddress}`);
  if (task.recipient) console.log(`  tokens go to ${task.recipient}`);
  console.log(`  payment ${settlement.transaction}`);
  console.log(`  task    ${task.id} (${task.status})`);
  console.log(`  status  curl -H 'Authorization: Bearer ${taskToken}' ${statusUrl}`);

  const end = Date.now() + STATUS_TIMEOUT_MS;
  let last = '';
  for (;;) {
    const { task: now } = await getJson(statusUrl, { authorization: `Bearer ${taskToken}` });
    const line = `${now.status}: ${now.mintsCompleted}/${now.quantity} minted`;
    if (line !== last) console.log(`  ${line}`);
    last = line;
    if (TERMINAL.includes(now.status)) {
      if (now.errorMessage) console.log(`  ${now.errorMessage}`);
      process.exitCode = now.status === 'completed' ? 0 : 1;
      return;
    }
    if (Date.now() > end) throw new Error(`task ${now.id} still ${now.status} after ${STATUS_TIMEOUT_MS / 60_000} min`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
