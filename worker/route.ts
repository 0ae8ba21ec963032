// worker/x402 still imports its options type from here while that folder is being rewritten;
// this file goes once it takes RunOptions from task-executor.ts (the registry is route-registry.ts).
export type { RunOptions as ExecuteOptions } from './task-executor';
