import net from 'node:net';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '@/lib/config';
import { startWorkerMetricsServer } from '@/lib/metrics/server';
import { freePort } from '@/scripts/local/ports';

// Finding 5 (worker part): the worker's metrics server listened on every interface.

const connects = (host: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect({ host, port, timeout: 2000 }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
    socket.on('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });

describe('worker metrics server', () => {
  it('binds 127.0.0.1 unless WORKER_METRICS_HOST says otherwise', async () => {
    expect(parseConfig({}).worker.metricsHost).toBe('127.0.0.1');
    expect(parseConfig({ WORKER_METRICS_HOST: '0.0.0.0' }).worker.metricsHost).toBe('0.0.0.0');

    const port = await freePort();
    const server = await startWorkerMetricsServer(port);
    try {
      expect((server.address() as AddressInfo).address).toBe('127.0.0.1');
      expect(await connects('127.0.0.1', port)).toBe(true);
      // From another interface of this machine (what a neighbour on the network would reach): refused.
      const external = Object.values(os.networkInterfaces())
        .flat()
        .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
      if (external) expect(await connects(external, port)).toBe(false);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
