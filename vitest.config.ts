import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = path.dirname(fileURLToPath(import.meta.url));

// Vitest 5's reporters call Map.groupBy / Object.groupBy (Node 21+). On Node 20 the first failing
// test crashed the report, hiding the failure and the JSON summary; this config loads in the
// main process, so provide them here.
type KeyOf<T, K> = (item: T, index: number) => K;
function groupInto<T, K>(items: Iterable<T>, key: KeyOf<T, K>, add: (k: K, item: T) => void) {
  let i = 0;
  for (const item of items) add(key(item, i++), item);
}
const groupable = Map as unknown as { groupBy?: unknown };
groupable.groupBy ??= <T, K>(items: Iterable<T>, key: KeyOf<T, K>) => {
  const map = new Map<K, T[]>();
  groupInto(items, key, (k, item) => (map.get(k) ?? map.set(k, []).get(k)!).push(item));
  return map;
};
const objectGroupable = Object as unknown as { groupBy?: unknown };
objectGroupable.groupBy ??= <T>(items: Iterable<T>, key: KeyOf<T, PropertyKey>) => {
  const out: Record<PropertyKey, T[]> = Object.create(null);
  groupInto(items, key, (k, item) => (out[k] ??= []).push(item));
  return out;
};

export default defineConfig({
  resolve: { alias: { '@': root } },
  test: {
    include: ['test/**/*.test.ts'],
    // Each file starts its own Postgres + anvil; two at a time suits a 2-core machine.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
