import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { LocalAccount } from 'viem';
import type { TaskWithAgent } from '@/db/tasks';
import { stopChild } from '@/scripts/local/anvil';
import { buildIfStale, nextBin } from '@/scripts/local/next-build';
import { freePort, waitFor } from '@/scripts/local/ports';
import { authorizationFor, nowSeconds, signAuthorization } from '../support/funding';
import type { TestStack } from '../support/stack';
import { spawnWorker } from '../support/worker';

// The real app for MCP tests: `next start` (the .next-e2e build the e2e suite shares) and one
// mint worker, on a test stack; and helpers to drive the official MCP client against it.

const root = path.resolve(import.meta.dirname, '../..');
const DIST = '.next-e2e';

export type RunningApp = { url: string; stop(): Promise<void> };

export async function startApp(stack: TestStack, { worker = true } = {}): Promise<RunningApp> {
  await buildIfStale(root, { ...process.env, NEXT_DIST_DIR: DIST }, DIST);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = { ...process.env, ...stack.env, PUBLIC_URL: url, NEXT_TELEMETRY_DISABLED: '1' };
  delete env.OPENAI_API_KEY;
  const children: ChildProcess[] = [];
  const web = spawn(process.execPath, [nextBin(root), 'start', '-p', String(port), '-H', '127.0.0.1'], {
    cwd: root,
    env: { ...env, NODE_ENV: 'production', NEXT_DIST_DIR: DIST },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(web);
  if (worker) children.push(spawnWorker({ ...stack.env, PUBLIC_URL: url, LOG_LEVEL: 'warn' }).child);
  const stop = async () => void (await Promise.all(children.map((c) => stopChild(c, 5000))));
  try {
    await waitFor(async () => (await fetch(`${url}/health`).catch(() => undefined))?.ok === true, {
      timeoutMs: 60_000,
      what: 'next start',
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, stop };
}

/** `scripts/mcp.ts` over stdio as an MCP client starts it (tsx), with `env` over this process's. */
export const mcpStdio = (env: Record<string, string>) =>
  new StdioClientTransport({
    command: process.execPath,
    args: ['--import', 'tsx', 'scripts/mcp.ts'],
    cwd: root,
    env: { ...(process.env as Record<string, string>), ...env },
    stderr: 'pipe',
  });

/** A connected official MCP client. */
export async function connectClient(transport: Transport) {
  const client = new Client({ name: 'agentmint-test', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

export type ToolAnswer = { isError: boolean; data: any; text: string };

/** Calls a tool and answers its structured result (and whether it is a tool error). */
export async function callTool(client: Client, name: string, args: Record<string, unknown> = {}): Promise<ToolAnswer> {
  const result = await client.callTool({ name, arguments: args });
  const text = (result.content as { type: string; text?: string }[]).map((c) => c.text ?? '').join('');
  return { isError: result.isError === true, data: result.structuredContent ?? JSON.parse(text), text };
}

/** The user's signature over the task's funding, as their wallet would make it on the fund page. */
export async function signFunding(account: LocalAccount, task: { agentAddress: string; totalCost: string }) {
  const authorization = authorizationFor({ ...task, userAddress: account.address } as TaskWithAgent, {
    validBefore: String(nowSeconds() + 600),
  });
  return { authorization, signature: await signAuthorization(account, authorization) };
}

export async function waitUntil<T>(what: string, read: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
