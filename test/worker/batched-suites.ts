/**
 * Runs a worker suite again with MINT_EXECUTION=batch (EIP-7702, one transaction per batch): the
 * suite's own stack and the workers it spawns then send batches. Import this first, then the suite.
 */
(globalThis as { mintExecutionUnderTest?: 'single' | 'batch' }).mintExecutionUnderTest = 'batch';
