import { afterAll, beforeAll } from 'vitest';
import { startTestStack, type TestStack, type TestStackOptions } from './stack';

/**
 * A test stack for a whole test file: started before its tests (within `startTimeoutMs`, else
 * vitest's hook timeout), stopped after them. The object is filled in when the stack is up: read
 * it inside tests and later hooks. Apart from stack.ts because the benchmarks and e2e load that
 * one outside vitest.
 */
export function useTestStack({
  startTimeoutMs,
  ...options
}: TestStackOptions & { startTimeoutMs?: number } = {}): TestStack {
  const stack = {} as TestStack;
  beforeAll(async () => {
    Object.assign(stack, await startTestStack(options));
  }, startTimeoutMs);
  afterAll(() => stack.stop?.(), 30_000);
  return stack;
}
