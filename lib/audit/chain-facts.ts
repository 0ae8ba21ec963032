import {
  BaseError,
  createPublicClient,
  erc20Abi,
  hexToBigInt,
  http,
  RpcError,
  type Address,
  type Hex,
  type PublicClient,
} from 'viem';
import { paidMintTokenAbi, testUSDCAbi } from '../chain/contracts.generated';
import { AppError } from '../errors';

// What the chain says about a set of agent wallets over [fromBlock, toBlock]: every USDC
// Transfer to or from them, every Minted event they paid for, every transaction they sent or
// that sent them ETH (ETH moves leave no log, so those come from the blocks themselves), and
// their balances at both ends. Log reads are chunked (`blockRange` blocks per eth_getLogs, and
// a chunk the node refuses as too large is halved), so a long history is read in pieces.

export type TransferLog = { from: Address; to: Address; value: bigint; txHash: Hex; blockNumber: bigint };
export type MintedLog = {
  token: Address;
  payer: Address;
  to: Address;
  mintId: Hex;
  amount: bigint;
  price: bigint;
  txHash: Hex;
  blockNumber: bigint;
};
export type AuthorizationUsedLog = { authorizer: Address; nonce: Hex; txHash: Hex; blockNumber: bigint };
export type ChainTx = {
  hash: Hex;
  from: Address;
  to: Address | null;
  value: bigint;
  input: Hex;
  type: string;
  /** EIP-7702: the contracts this transaction's authorization list delegates to. */
  delegations: Address[];
  success: boolean;
  gasCost: bigint;
  blockNumber: bigint;
};
/** Balances at both ends of the range, and the code at its end (empty, or an EIP-7702 delegation). */
export type Balances = { usdcStart: bigint; usdcEnd: bigint; ethStart: bigint; ethEnd: bigint; codeEnd?: Hex };
export type TokenInfo = { mintAmount: bigint };
/** A transaction's receipt as the evidence checks read it: null when the chain does not have it. */
export type ReceiptFacts = {
  success: boolean;
  blockNumber: bigint;
  logs: { address: Address; topics: [Hex, ...Hex[]] | []; data: Hex; logIndex: number }[];
};

export type ChainFacts = {
  fromBlock: bigint;
  toBlock: bigint;
  usdcTransfers: TransferLog[];
  minted: MintedLog[];
  authorizationsUsed: AuthorizationUsedLog[];
  /** Transactions sent by an agent, and transactions that sent an agent ETH. */
  txs: ChainTx[];
  balances: Map<string, Balances>;
  tokens: Map<string, TokenInfo>;
  /** Receipts of the transactions x402 deliveries and claims name, by lower-case hash (lib/audit/x402-evidence.ts). */
  receipts: Map<string, ReceiptFacts | null>;
};

export type ScanOptions = {
  rpcUrl: string;
  usdc: Address;
  agents: Address[];
  tokens: Address[];
  fromBlock: bigint;
  toBlock: bigint;
  blockRange: bigint;
};

const lower = (a: string) => a.toLowerCase() as Address;
/** Topic arrays stay small: nodes cap a filter's size. */
const AGENTS_PER_FILTER = 100;
const BLOCKS_PER_BATCH = 50;

export function auditClient(rpcUrl: string): PublicClient {
  return createPublicClient({
    transport: http(rpcUrl, { batch: { batchSize: BLOCKS_PER_BATCH }, retryCount: 3, timeout: 30_000 }),
  }) as PublicClient;
}

export async function readChainFacts(client: PublicClient, o: ScanOptions): Promise<ChainFacts> {
  const agents = o.agents.map(lower);
  const [usdcTransfers, minted, authorizationsUsed, txs, balances, tokens] = await Promise.all([
    readUsdcTransfers(client, o, agents),
    o.tokens.length ? readMinted(client, o, agents) : Promise.resolve([]),
    readAuthorizationsUsed(client, o, agents),
    scanBlocks(client, o, new Set(agents)),
    readBalances(client, o, agents),
    readTokens(client, o.tokens),
  ]);
  return {
    fromBlock: o.fromBlock,
    toBlock: o.toBlock,
    usdcTransfers,
    minted,
    authorizationsUsed,
    txs,
    balances,
    tokens,
    receipts: new Map(),
  };
}

/** eth_getLogs over [from, to] in chunks of `range` blocks; a chunk the node refuses is halved and retried. */
export async function chunkedLogs<T>(
  from: bigint,
  to: bigint,
  range: bigint,
  read: (from: bigint, to: bigint) => Promise<T[]>,
): Promise<T[]> {
  const out: T[] = [];
  let size = range > 0n ? range : 1n;
  for (let start = from; start <= to;) {
    const end = start + size - 1n < to ? start + size - 1n : to;
    try {
      out.push(...(await read(start, end)));
      start = end + 1n;
    } catch (error) {
      if (size === 1n) throw error;
      size = size / 2n;
    }
  }
  return out;
}

function groups<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

async function readUsdcTransfers(client: PublicClient, o: ScanOptions, agents: Address[]): Promise<TransferLog[]> {
  const seen = new Set<string>();
  const out: TransferLog[] = [];
  for (const group of groups(agents, AGENTS_PER_FILTER)) {
    for (const args of [{ from: group }, { to: group }]) {
      const logs = await chunkedLogs(o.fromBlock, o.toBlock, o.blockRange, (fromBlock, toBlock) =>
        client.getContractEvents({
          address: o.usdc,
          abi: erc20Abi,
          eventName: 'Transfer',
          args,
          fromBlock,
          toBlock,
          strict: true,
        }),
      );
      for (const log of logs) {
        const key = `${log.transactionHash}:${log.logIndex}`; // an agent-to-agent transfer matches both filters
        if (seen.has(key)) continue;
        seen.add(key);
        out.push({
          from: lower(log.args.from),
          to: lower(log.args.to),
          value: log.args.value,
          txHash: log.transactionHash,
          blockNumber: log.blockNumber,
        });
      }
    }
  }
  return out;
}

async function readMinted(client: PublicClient, o: ScanOptions, agents: Address[]): Promise<MintedLog[]> {
  const out: MintedLog[] = [];
  for (const group of groups(agents, AGENTS_PER_FILTER)) {
    const logs = await chunkedLogs(o.fromBlock, o.toBlock, o.blockRange, (fromBlock, toBlock) =>
      client.getContractEvents({
        address: o.tokens,
        abi: paidMintTokenAbi,
        eventName: 'Minted',
        args: { payer: group },
        fromBlock,
        toBlock,
        strict: true,
      }),
    );
    for (const log of logs) {
      const { args } = log;
      out.push({
        token: lower(log.address),
        payer: lower(args.payer),
        to: lower(args.to),
        mintId: args.mintId,
        amount: args.amount,
        price: args.price,
        txHash: log.transactionHash,
        blockNumber: log.blockNumber,
      });
    }
  }
  return out;
}

/** AuthorizationUsed(authorizer = an agent): an x402 payment the agent signed, settled by whoever submitted it. */
async function readAuthorizationsUsed(
  client: PublicClient,
  o: ScanOptions,
  agents: Address[],
): Promise<AuthorizationUsedLog[]> {
  const out: AuthorizationUsedLog[] = [];
  for (const group of groups(agents, AGENTS_PER_FILTER)) {
    const logs = await chunkedLogs(o.fromBlock, o.toBlock, o.blockRange, (fromBlock, toBlock) =>
      client.getContractEvents({
        address: o.usdc,
        abi: testUSDCAbi,
        eventName: 'AuthorizationUsed',
        args: { authorizer: group },
        fromBlock,
        toBlock,
        strict: true,
      }),
    );
    for (const log of logs)
      out.push({
        authorizer: lower(log.args.authorizer),
        nonce: log.args.nonce.toLowerCase() as Hex,
        txHash: log.transactionHash,
        blockNumber: log.blockNumber,
      });
  }
  return out;
}

type RpcTx = {
  hash: Hex;
  from: Address;
  to: Address | null;
  value: Hex;
  input: Hex;
  type: Hex;
  authorizationList?: { address: Address }[];
};
type RpcReceipt = { status: Hex; gasUsed: Hex; effectiveGasPrice?: Hex; l1Fee?: Hex };

/**
 * Every block of the range with its transactions, BLOCKS_PER_BATCH per JSON-RPC batch, keeping
 * those sent by an agent or carrying ETH to one, then their receipts (gas used × price, plus the
 * L1 data fee on OP-stack chains such as Base).
 */
async function scanBlocks(client: PublicClient, o: ScanOptions, agents: Set<string>): Promise<ChainTx[]> {
  const found: (RpcTx & { blockNumber: bigint })[] = [];
  for (let start = o.fromBlock; start <= o.toBlock; start += BigInt(BLOCKS_PER_BATCH)) {
    const numbers: bigint[] = [];
    for (let n = start; n <= o.toBlock && n < start + BigInt(BLOCKS_PER_BATCH); n++) numbers.push(n);
    const blocks = await Promise.all(
      numbers.map(
        (n) =>
          client.request({ method: 'eth_getBlockByNumber', params: [`0x${n.toString(16)}`, true] }) as Promise<{
            transactions: RpcTx[];
          } | null>,
      ),
    );
    for (const [i, block] of blocks.entries()) {
      for (const tx of block?.transactions ?? []) {
        const fromAgent = agents.has(lower(tx.from));
        const ethToAgent = tx.to !== null && agents.has(lower(tx.to)) && hexToBigInt(tx.value) > 0n;
        if (fromAgent || ethToAgent) found.push({ ...tx, blockNumber: numbers[i]! });
      }
    }
  }
  const out: ChainTx[] = [];
  for (const group of groups(found, BLOCKS_PER_BATCH)) {
    const receipts = await Promise.all(
      group.map(
        (tx) => client.request({ method: 'eth_getTransactionReceipt', params: [tx.hash] }) as Promise<RpcReceipt>,
      ),
    );
    for (const [i, tx] of group.entries()) {
      const receipt = receipts[i]!;
      const gasCost =
        hexToBigInt(receipt.gasUsed) * hexToBigInt(receipt.effectiveGasPrice ?? '0x0') +
        (receipt.l1Fee ? hexToBigInt(receipt.l1Fee) : 0n);
      out.push({
        hash: tx.hash,
        from: lower(tx.from),
        to: tx.to ? lower(tx.to) : null,
        value: hexToBigInt(tx.value),
        input: tx.input,
        type: tx.type,
        delegations: (tx.authorizationList ?? []).map((a) => lower(a.address)),
        success: receipt.status === '0x1',
        gasCost,
        blockNumber: tx.blockNumber,
      });
    }
  }
  return out;
}

/**
 * A node that answered a read of `block` with an error does not hold that block's state: it
 * prunes old state (most non-archive nodes keep ~128 blocks), or it is a local chain restarted
 * from a saved state (`npm start`'s anvil). The audit needs the balances just before its range, so
 * it stops and says what would work. A node that did not answer (a timeout) is rethrown as it is.
 */
const noStateAt = (block: bigint) => (error: unknown) => {
  if (!(error instanceof BaseError && error.walk((e) => e instanceof RpcError))) throw error;
  throw new AppError(
    'unavailable:audit',
    `The node holds no state at block ${block}, the block before the audited range (it prunes old state, or it is a local chain restarted from a saved state). Audit through an archive node (--rpc-url), or from a later block the node still holds (--from-block).`,
    { cause: error },
  );
};

async function readBalances(client: PublicClient, o: ScanOptions, agents: Address[]): Promise<Map<string, Balances>> {
  const before = o.fromBlock > 0n ? o.fromBlock - 1n : undefined;
  const out = new Map<string, Balances>();
  for (const group of groups(agents, BLOCKS_PER_BATCH)) {
    const rows = await Promise.all(
      group.map(async (agent) => {
        const usdcAt = (blockNumber: bigint) =>
          client.readContract({
            address: o.usdc,
            abi: erc20Abi,
            functionName: 'balanceOf',
            args: [agent],
            blockNumber,
          });
        const [usdcStart, usdcEnd, ethStart, ethEnd, codeEnd] = await Promise.all([
          before === undefined ? 0n : usdcAt(before).catch(noStateAt(before)),
          usdcAt(o.toBlock),
          before === undefined
            ? 0n
            : client.getBalance({ address: agent, blockNumber: before }).catch(noStateAt(before)),
          client.getBalance({ address: agent, blockNumber: o.toBlock }),
          client.getCode({ address: agent, blockNumber: o.toBlock }),
        ]);
        return [agent, { usdcStart, usdcEnd, ethStart, ethEnd, codeEnd: codeEnd ?? '0x' }] as const;
      }),
    );
    for (const [agent, b] of rows) out.set(agent, b);
  }
  return out;
}

async function readTokens(client: PublicClient, tokens: Address[]): Promise<Map<string, TokenInfo>> {
  const infos = await Promise.all(
    tokens.map((address) => client.readContract({ address, abi: paidMintTokenAbi, functionName: 'mintAmount' })),
  );
  return new Map(tokens.map((t, i) => [lower(t), { mintAmount: infos[i]! }]));
}

/** Whether a mintId is used as of `blockNumber` (tells "minted before the audited range" from "never minted"). */
export function isMintIdUsedAt(client: PublicClient, token: Address, mintId: Hex, blockNumber: bigint) {
  return client.readContract({
    address: token,
    abi: paidMintTokenAbi,
    functionName: 'usedMintIds',
    args: [mintId],
    blockNumber,
  });
}
