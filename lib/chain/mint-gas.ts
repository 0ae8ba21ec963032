/**
 * The most gas AgentMint lets one PaidMintToken `mint` transaction use. Measured on anvil
 * (test/tokens/token-safety.test.ts prints it): at most 147,253 gas, for a first mint to a new
 * holder (fresh balance and mintId slots, the USDC pull); the worker's limit is its estimate
 * × 1.25, ~184k. USDC on Base (a proxy with blacklist checks) costs more per transfer than
 * TestUSDC, hence about twice the measured figure. A contract whose `mint` burns more (the
 * probe's hostile token burned ~3.4M per call) fails its task before a single mint is sent,
 * and the transaction guard refuses to sign a mint with a higher limit.
 */
export const MAX_MINT_GAS = 300_000n;

/**
 * A batch (EIP-7702) may use at most this plus MAX_MINT_GAS per call it carries: the intrinsic
 * 21,000, an authorization (~25,000 when it installs the delegation) and the executor's own
 * decoding fit well within it. The worker's batches use ~49k per mint at 10 a batch.
 */
export const MAX_BATCH_OVERHEAD_GAS = 100_000n;
