/**
 * The most gas AgentMint lets one PaidMintToken `mint` transaction use. Measured on anvil
 * (test/worker/token-safety.test.ts prints it): a mint uses ~109k gas, ~126k for the first
 * mint to a new holder (fresh balance slots); the worker's limit is its estimate × 1.25, so
 * ~158k. USDC on Base (a proxy with blacklist checks) costs more per transfer than TestUSDC,
 * hence about twice the measured limit. A contract whose `mint` burns more (the probe's hostile
 * token burned ~3.4M per call) fails its task before a single mint is sent.
 */
export const MAX_MINT_GAS = 300_000n;
