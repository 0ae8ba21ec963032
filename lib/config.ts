import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { provideDatabaseSettings } from '@/db/settings';
import { NETWORK_NAMES, networkByName } from './chain/networks';
import { readLocalStack, type LocalStack } from './local-stack';
import { HEX_ADDRESS } from './hex';

// Every environment variable the app reads, parsed and validated once. Nothing else reads
// process.env (scripts that start child processes only write it).

const int = (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback);
const optionalString = z.string().trim().min(1).optional();
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .optional()
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  /** `local` (anvil, `npm start`), or an EVM network with an EIP-3009 USDC that x402 knows (lib/chain/networks.ts). */
  CHAIN: z
    .enum(['local', ...NETWORK_NAMES] as [string, ...string[]], {
      error: `must be local or one of: ${NETWORK_NAMES.join(', ')}`,
    })
    .default('local'),
  RPC_URL: z.url().optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  DB_POOL_MAX: int(10, 1),
  DATA_DIR: z.string().default('.data'),
  DEPLOYMENT_FILE: optionalString,
  AGENT_KEY_FILE: z.string().default(path.join(os.homedir(), '.config', 'agent-mint', 'private.key')),
  USDC_ADDRESS: z.string().regex(HEX_ADDRESS, 'must be a 0x-prefixed 20-byte address').optional(),
  PORT: int(3000, 1),
  ANVIL_PORT: int(8545, 1),
  PG_PORT: int(54329, 1),
  /** The origin users reach the web app at (`https://mint.example`): SIWE domain/uri, Origin checks, cookies. */
  PUBLIC_URL: z
    .url({ protocol: /^https?$/ })
    .refine(
      (v) => ['', '/'].includes(new URL(v).pathname) && !new URL(v).search && !new URL(v).hash,
      'must be an origin only (scheme, host, port), no path',
    )
    .optional(),
  /** Reverse proxies in front of the web app that append to x-forwarded-for (0 = clients connect directly). */
  TRUSTED_PROXY_HOPS: int(0),

  MINT_BATCH_SIZE: int(10, 1),
  MINT_INTERVAL_MS: int(5000),
  /** With MINT_INTERVAL_MS=0: how many batches may be on the chain, unsettled, at once (1 = one at a time). */
  MINT_PIPELINE_DEPTH: int(4, 1),
  CHECK_INTERVAL_MS: int(10000, 100),
  // A task waiting for a block or a pause costs a worker almost nothing: on a chain with 2 s blocks
  // 20 users' 20-mint tasks at once took 4.7× one task at 4 (five waves), 1.3× at 32 (bench:mint).
  WORKER_CONCURRENCY: int(32, 1),
  /**
   * How contract mints are sent: `batch` = one EIP-7702 transaction per batch through the agent's
   * delegation to AgentBatchExecutor; `single` = one transaction per mint; `auto` = batch where
   * the chain accepts type-4 transactions and an executor is deployed (checked once at start).
   */
  MINT_EXECUTION: z.enum(['auto', 'batch', 'single']).default('auto'),
  /** The AgentBatchExecutor agents delegate to; defaults to the deployment file's. */
  BATCH_EXECUTOR_ADDRESS: z.string().regex(HEX_ADDRESS, 'must be a 0x-prefixed 20-byte address').optional(),
  MAX_RETRIES: int(5),
  LEASE_MS: int(15000, 1000),
  /** Seconds a task may wait for payment before the worker cancels it. */
  PAYMENT_TIMEOUT: int(600, 1),
  MAX_FEE_GWEI: z.coerce.number().positive().default(100),
  HIGH_BASE_FEE_GWEI: z.coerce.number().positive().default(20),
  STUCK_AFTER_BLOCKS: int(5, 1),
  RECEIPT_TIMEOUT_MS: int(60000, 1000),
  /** ETH an idle agent wallet keeps; the rest goes back to the operator (lib/wallets/sweep.ts). Top-ups are sized from fees. */
  AGENT_MIN_ETH: z
    .string()
    .regex(/^\d+(\.\d+)?$/, 'must be a decimal ETH amount')
    .default('0.0001'),
  /**
   * The most one gas top-up sends (the fixed size it had before top-ups were sized from fees): a
   * top-up is the task's estimated gas × fee × margin, cut to this, but never below what the
   * agent's next transactions need. A cap, not a floor: a floor would park ETH the sweep then
   * has to bring back.
   */
  AGENT_TOPUP_ETH: z
    .string()
    .regex(/^\d+(\.\d+)?$/, 'must be a decimal ETH amount')
    .default('0.01'),
  AGENT_MAX_TOPUP_PER_TASK_ETH: z
    .string()
    .regex(/^\d+(\.\d+)?$/, 'must be a decimal ETH amount')
    .default('0.05'),
  /** The fund route sends a contract task's first gas top-up with the funding transfer (one block); `false`: the worker sends it when it starts (a block later). */
  EARLY_GAS_TOPUP: z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default('true')
    .transform((v) => v === 'true' || v === '1' || v === 'yes'),
  /**
   * What an ended task did not spend goes back to the user's address on its own (completed and
   * cancelled tasks; a failed one keeps what a retry needs): lib/wallets/refund.ts. `false`: it
   * stays in the agent wallet until the user withdraws it.
   */
  AUTO_REFUND: z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default('true')
    .transform((v) => v === 'true' || v === '1' || v === 'yes'),
  WORKER_ID: optionalString,
  WORKER_METRICS_PORT: z.coerce.number().int().min(1).optional(),
  /** Interface the worker's metrics server binds; loopback unless an operator opens it on purpose. */
  WORKER_METRICS_HOST: z.string().trim().min(1).default('127.0.0.1'),
  /** Smallest total a task may cost (USDC): tiny tasks would cost the operator more gas than they are worth. */
  MIN_TASK_VALUE_USDC: z
    .string()
    .regex(/^\d+(\.\d{1,6})?$/, 'must be a decimal USDC amount')
    .default('0.1'),
  /** Gas the operator tops up into one user's agent wallet per rolling 24 h, over all their tasks and withdrawals. */
  USER_MAX_TOPUP_PER_DAY_ETH: z
    .string()
    .regex(/^\d+(\.\d+)?$/, 'must be a decimal ETH amount')
    .default('0.2'),
  /** Test hook: the worker SIGKILLs itself at this point of its Nth batch (`mid-batch:2`). */
  /** Test hook (never in production): `bad-authorization` (a delegation signed for the wrong nonce, once) or `bad-mint-signature:N` (mint N signed wrongly, once). */
  WORKER_TEST_FAULT: z
    .string()
    .regex(/^(bad-authorization|bad-mint-signature:\d+)$/, 'bad-authorization|bad-mint-signature:N')
    .optional(),
  WORKER_CRASH_AT: z
    .string()
    .regex(
      /^(after-ledger-write|after-broadcast|mid-batch|two-in-flight)(:\d+)?$/,
      'after-ledger-write|after-broadcast|mid-batch|two-in-flight[:N]',
    )
    .optional(),

  SESSION_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: z.url().optional(),
  AI_MODEL: z.string().default('gpt-4o-mini'),
  CHAT_RATE_LIMIT_PER_MINUTE: int(30, 1),

  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['json', 'pretty', 'auto']).default('auto'),
  METRICS_TOKEN: optionalString,
  WEBHOOK_URL: z.url().optional(),
  WEBHOOK_SECRET: optionalString,
  ADMIN_ADDRESSES: z.string().default(''),
  OPERATOR_MIN_ETH: z
    .string()
    .regex(/^\d+(\.\d+)?$/, 'must be a decimal ETH amount')
    .default('0.05'),
  /** Funds audit: first block it reads (default: the first funding transaction's block), and blocks per eth_getLogs call. */
  AUDIT_FROM_BLOCK: z.coerce.number().int().min(0).optional(),
  AUDIT_LOG_BLOCK_RANGE: int(2000, 1),
  SECURE_COOKIES: bool,
  /** Build-time for the browser bundle (lib/web/wagmi.ts); read here for the CSP's WalletConnect hosts. */
  NEXT_PUBLIC_WALLETCONNECT_PROJECT_ID: optionalString,

  /** Hosts (`name` or `name:port`) an x402 endpoint may be on although they resolve to a private address; they may use http. */
  X402_ALLOWED_HOSTS: z.string().default(''),
  /** Highest price per paid request (USDC, decimal) an x402 task may be created at. */
  /** The local demo x402 endpoint `npm start` runs (set by it; shown in /api/config and the chat suggestions). */
  X402_DEMO_URL: z.url().optional(),
  /** Port of that local demo x402 mint server. */
  X402_MINT_PORT: int(4021, 1),
  X402_MAX_PRICE_PER_MINT: z
    .string()
    .regex(/^\d+(\.\d{1,6})?$/, 'must be a decimal USDC amount')
    .default('1'),
  /** How long the worker waits for an x402 endpoint's answer to a paid request before asking the chain. */
  X402_REQUEST_TIMEOUT_MS: int(10_000, 100),
  /** How long, after a payment settled, the worker waits for its tokens (a seller that queues mints delivers late); then the payment is a claim. */
  X402_DELIVERY_TIMEOUT_MS: int(120_000, 0),
  /** Longest an x402 authorization the agent signs stays valid, whatever the seller's maxTimeoutSeconds asks (a refused or held one is dead by then). */
  X402_MAX_AUTHORIZATION_SECONDS: int(180, 10),
  /** Total time one payment may spend waiting out a seller's 429s before the task stops (each wait is at least 1 s). */
  X402_MAX_RATE_LIMIT_WAIT_MS: int(120_000, 1000),
  /** A task run that neither pays nor receives anything for this long stops (it never holds a worker slot forever). */
  X402_STALL_TIMEOUT_MS: int(300_000, 1000),
  /** Refusals (a 4xx to a paid request) a task takes before it stops; each retry of the task allows this many more. */
  X402_MAX_REFUSALS: int(3, 1),
  /** cancelAuthorization transactions the operator sends for one task over its whole life (retries included); past it, live authorizations are left to expire. */
  X402_MAX_CANCELS_PER_TASK: int(3, 0),
  /** Idle keep-alive connections to sellers are closed after this long. */
  X402_IDLE_SOCKET_MS: int(15_000, 100),
  /** Most mints one x402 payment buys from a seller that prices a quantity (also capped by MINT_BATCH_SIZE); 1 buys one per payment. */
  X402_MINTS_PER_PAYMENT: z.coerce.number().int().min(1).max(100).default(10),
});

// What a deployment on a real chain must set: without it the app would trust a client-chosen
// Host header (PUBLIC_URL) or show balances and addresses to anyone (METRICS_TOKEN).
const REQUIRED_OFF_LOCAL = {
  PUBLIC_URL:
    'required outside CHAIN=local: the origin users reach the app at (Sign-In with Ethereum and cross-site checks use it)',
  METRICS_TOKEN: 'required outside CHAIN=local: the bearer token /api/metrics and the worker metrics require',
} as const;

const checkedEnvSchema = envSchema.superRefine((env, ctx) => {
  if (env.CHAIN !== 'local') {
    for (const [name, message] of Object.entries(REQUIRED_OFF_LOCAL)) {
      if (!env[name as keyof typeof REQUIRED_OFF_LOCAL]) ctx.addIssue({ code: 'custom', path: [name], message });
    }
  }
  // An unsigned webhook can be forged by anyone who can reach the receiver.
  if (env.WEBHOOK_URL && !env.WEBHOOK_SECRET) {
    ctx.addIssue({
      code: 'custom',
      path: ['WEBHOOK_SECRET'],
      message: 'required when WEBHOOK_URL is set: webhooks are always HMAC-signed',
    });
  }
});

export type Env = z.infer<typeof envSchema>;

// Never echoed in an error: secrets, and URLs that may carry a password or an API key.
const SECRET_VARS = new Set([
  'SESSION_SECRET',
  'OPENAI_API_KEY',
  'WEBHOOK_SECRET',
  'METRICS_TOKEN',
  'DATABASE_URL',
  'RPC_URL',
  'OPENAI_BASE_URL',
  'WEBHOOK_URL',
]);

export function parseConfig(source: Record<string, string | undefined>) {
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = checkedEnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const name = i.path.join('.');
      const got = SECRET_VARS.has(name) ? undefined : cleaned[name];
      return `  ${name}: ${i.message}${got === undefined ? '' : ` (got ${JSON.stringify(got)})`}`;
    });
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const env = parsed.data;
  // Runtime paths, not build inputs: turbopackIgnore keeps Next from tracing the whole project.
  const dataDir = path.resolve(/*turbopackIgnore: true*/ env.DATA_DIR);
  // Locally (only) the origin defaults to what `npm start` serves; elsewhere PUBLIC_URL is required above.
  const publicUrl = new URL(env.PUBLIC_URL ?? `http://localhost:${env.PORT}`).origin;
  return {
    env,
    nodeEnv: env.NODE_ENV,
    chain: env.CHAIN,
    // Off local, the network's public RPC from viem/chains unless RPC_URL names one (rate-limited: set it in production).
    rpcUrl:
      env.RPC_URL ??
      (env.CHAIN === 'local'
        ? `http://127.0.0.1:${env.ANVIL_PORT}`
        : networkByName(env.CHAIN).chain.rpcUrls.default.http[0]!),
    databaseUrl: env.DATABASE_URL,
    /** The running `npm start` this process found and took unset values from (see getConfig). */
    localStack: undefined as LocalStack | undefined,
    dbPoolMax: env.DB_POOL_MAX,
    dataDir,
    deploymentFile: path.resolve(
      /*turbopackIgnore: true*/ env.DEPLOYMENT_FILE ?? path.join(dataDir, 'deployment.json'),
    ),
    agentKeyFile: path.resolve(/*turbopackIgnore: true*/ env.AGENT_KEY_FILE),
    usdcAddress: env.USDC_ADDRESS as `0x${string}` | undefined,
    batchExecutorAddress: env.BATCH_EXECUTOR_ADDRESS as `0x${string}` | undefined,
    port: env.PORT,
    anvilPort: env.ANVIL_PORT,
    pgPort: env.PG_PORT,
    publicUrl,
    trustedProxyHops: env.TRUSTED_PROXY_HOPS,
    minTaskValueUsdc: env.MIN_TASK_VALUE_USDC,
    worker: {
      batchSize: env.MINT_BATCH_SIZE,
      mintIntervalMs: env.MINT_INTERVAL_MS,
      pipelineDepth: env.MINT_PIPELINE_DEPTH,
      checkIntervalMs: env.CHECK_INTERVAL_MS,
      concurrency: env.WORKER_CONCURRENCY,
      execution: env.MINT_EXECUTION,
      maxRetries: env.MAX_RETRIES,
      leaseMs: env.LEASE_MS,
      paymentTimeoutSeconds: env.PAYMENT_TIMEOUT,
      maxFeeGwei: env.MAX_FEE_GWEI,
      highBaseFeeGwei: env.HIGH_BASE_FEE_GWEI,
      stuckAfterBlocks: env.STUCK_AFTER_BLOCKS,
      receiptTimeoutMs: env.RECEIPT_TIMEOUT_MS,
      agentMinEth: env.AGENT_MIN_ETH,
      agentTopupEth: env.AGENT_TOPUP_ETH,
      agentMaxTopupPerTaskEth: env.AGENT_MAX_TOPUP_PER_TASK_ETH,
      earlyGasTopUp: env.EARLY_GAS_TOPUP,
      autoRefund: env.AUTO_REFUND,
      id: env.WORKER_ID,
      metricsPort: env.WORKER_METRICS_PORT,
      metricsHost: env.WORKER_METRICS_HOST,
      userMaxTopupPerDayEth: env.USER_MAX_TOPUP_PER_DAY_ETH,
      crashAt: env.WORKER_CRASH_AT,
      testFault: env.NODE_ENV === 'production' ? undefined : env.WORKER_TEST_FAULT,
    },
    sessionSecret: env.SESSION_SECRET,
    ai: { apiKey: env.OPENAI_API_KEY, baseUrl: env.OPENAI_BASE_URL, model: env.AI_MODEL },
    chatRateLimitPerMinute: env.CHAT_RATE_LIMIT_PER_MINUTE,
    logLevel: env.LOG_LEVEL,
    logFormat: env.LOG_FORMAT,
    metricsToken: env.METRICS_TOKEN,
    webhook: env.WEBHOOK_URL && env.WEBHOOK_SECRET ? { url: env.WEBHOOK_URL, secret: env.WEBHOOK_SECRET } : undefined,
    adminAddresses: env.ADMIN_ADDRESSES.split(',')
      .map((a) => a.trim().toLowerCase())
      .filter(Boolean),
    operatorMinEth: env.OPERATOR_MIN_ETH,
    audit: { fromBlock: env.AUDIT_FROM_BLOCK, logBlockRange: env.AUDIT_LOG_BLOCK_RANGE },
    walletConnectProjectId: env.NEXT_PUBLIC_WALLETCONNECT_PROJECT_ID,
    secureCookies: env.SECURE_COOKIES || env.NODE_ENV === 'production' || publicUrl.startsWith('https:'),
    x402: {
      allowedHosts: env.X402_ALLOWED_HOSTS.split(',')
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean),
      maxPricePerMint: env.X402_MAX_PRICE_PER_MINT,
      requestTimeoutMs: env.X402_REQUEST_TIMEOUT_MS,
      deliveryTimeoutMs: env.X402_DELIVERY_TIMEOUT_MS,
      maxAuthorizationSeconds: env.X402_MAX_AUTHORIZATION_SECONDS,
      maxRateLimitWaitMs: env.X402_MAX_RATE_LIMIT_WAIT_MS,
      stallTimeoutMs: env.X402_STALL_TIMEOUT_MS,
      maxRefusals: env.X402_MAX_REFUSALS,
      maxCancelsPerTask: env.X402_MAX_CANCELS_PER_TASK,
      idleSocketMs: env.X402_IDLE_SOCKET_MS,
      // The delivery window is MINT_BATCH_SIZE mints: one payment never buys more than it.
      mintsPerPayment: Math.min(env.X402_MINTS_PER_PAYMENT, env.MINT_BATCH_SIZE),
      demoUrl: env.X402_DEMO_URL,
      mintPort: env.X402_MINT_PORT,
    },
  };
}

export type Config = ReturnType<typeof parseConfig>;

let cached: Config | undefined;

/** The validated configuration of this process; throws once, naming every bad variable. */
export function getConfig(): Config {
  cached ??= loadConfig(process.env);
  return cached;
}

/** `parseConfig`, then what a running local stack recorded for the values left unset. */
export const loadConfig = (source: Record<string, string | undefined>): Config =>
  withLocalStack(parseConfig(source), source);

/**
 * On CHAIN=local without DATABASE_URL, a running `npm start` (DATA_DIR/stack.json) supplies what
 * is unset: its database, RPC, deployment and key file. That is how `npm run ops`, `worker` and
 * `deploy:token` in a second terminal find the stack. Explicit variables always win.
 */
function withLocalStack(config: Config, source: Record<string, string | undefined>): Config {
  const { env } = config;
  if (env.CHAIN !== 'local' || env.DATABASE_URL) return config;
  const stack = readLocalStack(config.dataDir);
  if (!stack) return config;
  return {
    ...config,
    localStack: stack,
    databaseUrl: stack.databaseUrl,
    rpcUrl: env.RPC_URL ?? stack.rpcUrl,
    deploymentFile: env.DEPLOYMENT_FILE ? config.deploymentFile : stack.deploymentFile,
    agentKeyFile: source.AGENT_KEY_FILE ? config.agentKeyFile : stack.agentKeyFile, // env's has a default
  };
}

provideDatabaseSettings(() => {
  const config = getConfig();
  return { url: config.databaseUrl, poolMax: config.dbPoolMax, taskWebhooks: Boolean(config.webhook) };
});
