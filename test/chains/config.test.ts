import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { polygon } from 'viem/chains';
import { describe, expect, it } from 'vitest';
import { NETWORK_NAMES, NETWORKS } from '@/lib/chain/networks';
import { parseConfig } from '@/lib/config';

// CHAIN by name: what an operator types, and what they are told when it is wrong.

const root = path.resolve(import.meta.dirname, '../..');

const offLocal = { PUBLIC_URL: 'https://mint.example', METRICS_TOKEN: 'a-metrics-token' };

describe('CHAIN', () => {
  it('an unknown name is refused with every valid one listed', () => {
    expect(() => parseConfig({ CHAIN: 'polygon-mainnet', ...offLocal })).toThrow(
      `CHAIN: must be local or one of: ${NETWORK_NAMES.join(', ')} (got "polygon-mainnet")`,
    );
    expect(NETWORK_NAMES.length).toBeGreaterThanOrEqual(20);
  });

  it('each network resolves to its public RPC unless RPC_URL names one', () => {
    for (const network of NETWORKS.values()) {
      const config = parseConfig({ CHAIN: network.name, ...offLocal });
      expect(config.chain).toBe(network.name);
      expect(config.rpcUrl).toBe(network.chain.rpcUrls.default.http[0]);
    }
    expect(parseConfig({ CHAIN: 'polygon', ...offLocal }).rpcUrl).toBe(polygon.rpcUrls.default.http[0]);
    expect(parseConfig({ CHAIN: 'polygon', RPC_URL: 'https://rpc.example/key', ...offLocal }).rpcUrl).toBe(
      'https://rpc.example/key',
    );
  });

  it('local stays the default, on anvil', () => {
    expect(parseConfig({}).chain).toBe('local');
    expect(parseConfig({ ANVIL_PORT: '9545' }).rpcUrl).toBe('http://127.0.0.1:9545');
  });
});

describe('the configuration reference', () => {
  it('lists every network CHAIN takes', () => {
    const docs = [path.join(root, 'README.md'), ...mdFiles(path.join(root, 'docs'))].map((f) =>
      readFileSync(f, 'utf8'),
    );
    const reference = docs.find(
      (text) => /`CHAIN`/.test(text) && NETWORK_NAMES.every((n) => text.includes(`\`${n}\``)),
    );
    expect(reference, `a README or docs/ page naming ${NETWORK_NAMES.join(', ')}`).toBeDefined();
  });
});

function mdFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.md'))
    .map((f) => path.join(dir, f));
}
