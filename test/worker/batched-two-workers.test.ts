// The two-workers suite with EIP-7702 batches (MINT_EXECUTION=batch); the suite itself says what it proves.
import './batched-suites';
await import('./two-workers.test');
