// The crash suite with EIP-7702 batches (MINT_EXECUTION=batch); the suite itself says what it proves.
import './batched-suites';
await import('./crash.test');
