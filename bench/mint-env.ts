// The worker's settings every unpaced mint benchmark runs under (mint.ts, mint-profile.ts,
// mint-ab.ts), so their rows compare: no pacing, pipelined batches, no poll inside a measured run
// (a task starts on its NOTIFY), no logging cost, and a daily gas budget wide enough for the
// thousands of mints a few bench users make.
export function unpacedMintEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    MINT_INTERVAL_MS: '0',
    MINT_BATCH_SIZE: '10',
    MINT_PIPELINE_DEPTH: '4',
    WORKER_CONCURRENCY: '20',
    CHECK_INTERVAL_MS: '600000',
    LOG_LEVEL: 'silent',
    LOG_FORMAT: 'json',
    NODE_ENV: 'production',
    USER_MAX_TOPUP_PER_DAY_ETH: '1000',
    ...overrides,
  };
}
