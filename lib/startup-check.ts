import { getConfig } from './config';

/**
 * Stops the web server at start when the configuration is bad, naming the variable, instead of
 * failing every request. Next only logs an error thrown from register(), so exit ourselves.
 * Node-only: kept out of instrumentation.ts so the Edge build of that file never sees process.exit.
 */
export function exitOnBadConfig(): void {
  try {
    getConfig();
  } catch (error) {
    console.error(`[agent-mint] refusing to start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}

// A node that does not answer is asked again by the first request; this only bounds the start.
const USDC_CHECK_TIMEOUT_MS = 20_000;

export type UsdcCheck =
  | { status: 'ok'; message: string }
  | { status: 'unusable'; message: string }
  | { status: 'unchecked'; message: string };

/**
 * The configured USDC read and proved on chain (lib/chain/usdc-eip3009-check.ts): its EIP-712
 * domain, and that it runs EIP-3009 transferWithAuthorization. `unusable` is a USDC (or an
 * RPC on another chain) AgentMint can never fund with; `unchecked`, a chain that did not answer
 * or no USDC known yet (a local chain before `npm start` deployed one).
 */
export async function checkUsdc(): Promise<UsdcCheck> {
  const { UnusableUsdcError, verifyUsdc } = await import('./chain/usdc-eip3009-check');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer in ${USDC_CHECK_TIMEOUT_MS / 1000} s`)),
      USDC_CHECK_TIMEOUT_MS,
    );
  });
  try {
    const domain = await Promise.race([verifyUsdc(), timeout]);
    return {
      status: 'ok',
      message: `USDC ${domain.verifyingContract} on chain ${domain.chainId}: EIP-712 domain "${domain.name}" version "${domain.version}", EIP-3009 transferWithAuthorization checked`,
    };
  } catch (error) {
    if (error instanceof UnusableUsdcError) return { status: 'unusable', message: error.message };
    const reason =
      error instanceof Error ? ((error as { shortMessage?: string }).shortMessage ?? error.message) : 'unknown';
    return { status: 'unchecked', message: `USDC not checked at start (${reason}); requests will ask the chain again` };
  } finally {
    clearTimeout(timer);
  }
}

/** Exits when the configured USDC can never be used (not EIP-3009, wrong chain); starts anyway when the chain is only unreachable. */
export async function exitOnUnusableUsdc(log: StartupLog = prefixedConsole): Promise<void> {
  const check = await checkUsdc();
  if (check.status === 'unusable') {
    log.error(`refusing to start: ${check.message}`);
    process.exit(1);
  }
  if (check.status === 'ok') log.info(check.message);
  else log.warn(check.message);
}

type StartupLog = { info(message: string): void; warn(message: string): void; error(message: string): void };

const prefixedConsole: StartupLog = {
  info: (m) => console.info(`[agent-mint] ${m}`),
  warn: (m) => console.warn(`[agent-mint] ${m}`),
  error: (m) => console.error(`[agent-mint] ${m}`),
};
