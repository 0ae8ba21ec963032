import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePrivateKey } from 'viem/accounts';
import { getTaskById } from '@/db/tasks';
import { getWalletByUser } from '@/db/wallets';
import { createLogger, registerLogSecret, setLogger, taskLogger } from '@/lib/log';
import { bindingOf, getVault } from '@/lib/wallets/agent-wallets';
import { authorizationFor, postFund, signAuthorization } from '../funding/helpers';
import { createPendingTask, user } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/stack';
import { waitFor } from './receiver';

let stack: TestStack;
const webLines: string[] = [];
const capture = () => createLogger({ level: 'debug', destination: { write: (l: string) => webLines.push(l) } });

beforeAll(async () => {
  stack = await startTestStack({ env: { LOG_LEVEL: 'debug', MINT_BATCH_SIZE: '2' } });
  setLogger(capture());
});
afterAll(async () => {
  setLogger(undefined);
  await stack?.stop();
});

/** Every spelling of a 32-byte secret that must not appear in a log. */
const spellings = (hex: string) => {
  const bare = hex.replace(/^0x/, '');
  return [bare.toLowerCase(), bare.toUpperCase()];
};
const leaks = (output: string, secrets: string[]) =>
  secrets.flatMap(spellings).filter((s) => output.toLowerCase().includes(s.toLowerCase()));

describe('log redaction', () => {
  it('a full task at debug level (fund route + worker process) never logs a key or a full signature', async () => {
    const alice = user(1);
    const task = await createPendingTask({
      userAddress: alice.address,
      token: stack.deployment.tokens[0]!.address,
      quantity: 5,
    });
    const authorization = authorizationFor(task);
    const signature = await signAuthorization(alice, authorization);
    const fund = await postFund(task.id, { authorization, signature });
    expect(fund.status).toBe(200);
    // The same authorization again (a replay) and a tampered one: the error paths log too.
    await postFund(task.id, { authorization, signature });
    await postFund(task.id, { authorization: { ...authorization, value: '1' }, signature });

    const worker = spawn(path.resolve('node_modules/.bin/tsx'), ['worker/index.ts'], {
      env: { ...process.env, ...stack.env, LOG_LEVEL: 'debug', LOG_FORMAT: 'json' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let workerOut = '';
    worker.stdout.on('data', (c) => (workerOut += c));
    worker.stderr.on('data', (c) => (workerOut += c));
    const exited = new Promise<number | null>((resolve) => worker.on('exit', resolve));
    try {
      await waitFor(async () => (await getTaskById({ id: task.id }))?.status === 'completed', {
        timeoutMs: 90_000,
        everyMs: 250,
      });
    } finally {
      worker.kill('SIGTERM');
      await exited;
    }

    const wallet = (await getWalletByUser({ userAddress: alice.address }))!;
    const agentKey = getVault().decrypt(wallet.encryptedPrivateKey, bindingOf(wallet));
    const output = `${webLines.join('')}\n${workerOut}`;
    expect(output.length).toBeGreaterThan(1000);
    expect(leaks(output, [agentKey, stack.keys.operatorPrivateKey, stack.keys.agentEncryptionKey])).toEqual([]);
    expect(output.toLowerCase()).not.toContain(signature.slice(2, 132).toLowerCase());
    expect(output).not.toContain(wallet.encryptedPrivateKey);

    // Task lines carry the task and, for transactions, the hash.
    const json = workerOut
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    const taskLines = json.filter((l) => l.taskId === task.id);
    expect(taskLines.length).toBeGreaterThan(2);
    expect(taskLines.some((l) => /^0x[0-9a-f]{64}$/i.test(l.txHash ?? ''))).toBe(true);
    expect(taskLines.every((l) => l.agent?.toLowerCase() === wallet.agentAddress)).toBe(true);
  }, 150_000);

  it('scrubs secrets put into a log call by mistake, in any field, message or error', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'debug', destination: { write: (l: string) => lines.push(l) } });
    const agentKey = generatePrivateKey();
    const unknownKey = generatePrivateKey();
    registerLogSecret(agentKey);
    const signature = `0x${'ab'.repeat(65)}`;
    const txHash = `0x${'12'.repeat(32)}`;
    log.info({ privateKey: unknownKey, wallet: { encryptedPrivateKey: 'v1.abc.def' } }, 'one');
    log.info({ deep: { a: { b: { c: { operatorSecret: unknownKey, mnemonic: 'word word' } } } } }, 'two');
    log.info({ authorization: { from: '0x1', nonce: txHash, signature }, sig: signature }, 'three');
    log.info({ body: `{"signature":"${signature}"}`, raw: signature }, 'four');
    log.info(`message with ${agentKey} inside`);
    log.error({ err: new Error(`failed for key ${agentKey.toUpperCase().replace('0X', '0x')}`) }, 'five');
    log.info({ key: agentKey.slice(2) }, 'six');
    taskLogger({ id: 't-1', agentAddress: '0xagent' }, log).info({ txHash }, 'seven');
    const out = lines.join('');
    expect(leaks(out, [agentKey, unknownKey])).toEqual([]);
    expect(out).not.toContain('word word');
    expect(out).not.toContain('ab'.repeat(40));
    expect(out).not.toContain('v1.abc.def');
    // Not everything hex is a secret: hashes and the task context survive.
    const last = JSON.parse(lines.at(-1)!);
    expect(last).toMatchObject({ taskId: 't-1', agent: '0xagent', txHash, msg: 'seven' });
    expect(JSON.parse(lines[2]!).authorization).toMatchObject({ from: '0x1', nonce: txHash, signature: '[redacted]' });
  });
});
