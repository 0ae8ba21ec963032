import { formatUnits } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { beforeAll, describe, expect, it } from 'vitest';
import { GET as taskGET } from '@/app/api/ai-agent/task/[taskId]/route';
import { callTool, connectClient, mcpStdio } from '../mcp/support';
import { runOps } from '../support/ops';
import { call, cookieFor } from '../support/routes';
import { waitForTasks } from '../worker/support';
import { createFundedX402Task, ledgerVsChain, probeTerms, useX402Setup } from './support';

// A claim as every reader sees it (issue 22, "what to build" 2; issue 24, task_status): a real
// seller takes one payment and delivers nothing, the worker stops the task with a claim, and the
// task route, `npm run ops -- claims` / `task` and the MCP task_status tool (stdio, the official
// client) all show that one claim — the same serialization, from lib/tasks/task-status.ts.

let keys: typeof import('@/lib/assistant-keys/keys');
const user = privateKeyToAccount(generatePrivateKey()).address;
let taskId: string;
let settlementTxHash: string;
let apiClaims: any[];

const setup = useX402Setup({
  env: {
    LOG_LEVEL: 'warn',
    MINT_BATCH_SIZE: '5',
    MINT_INTERVAL_MS: '0',
    X402_REQUEST_TIMEOUT_MS: '1500',
    CHECK_INTERVAL_MS: '200',
    X402_DELIVERY_TIMEOUT_MS: '3000',
  },
  workerId: 'x402-claims-readers',
});

beforeAll(async () => {
  keys = await import('@/lib/assistant-keys/keys');
  const terms = await probeTerms(setup.server.mintUrl('take-and-run'), user);
  const task = await createFundedX402Task({ userAddress: user, terms, quantity: 4, token: setup.server.tokenAddress });
  taskId = task.id;
  const [done] = await waitForTasks([taskId], ['failed', 'completed'], 30_000);
  expect(done!.status).toBe('failed');
  const check = await ledgerVsChain(taskId, setup.server);
  expect(check.chain.count).toBe(1);
  settlementTxHash = [...check.chain.txHashes][0]!;
}, 120_000);

describe('the task route', () => {
  it('carries the claim: payment, settlement tx, the seller’s answer, what arrived, the token as the chain names it', async () => {
    const res = await call(taskGET, `/api/ai-agent/task/${taskId}`, { taskId }, { cookie: cookieFor(user) });
    expect(res.status).toBe(200);
    apiClaims = res.body.task.claims;
    expect(apiClaims).toHaveLength(1);
    expect(apiClaims[0]).toMatchObject({
      taskId,
      userAddress: user,
      sequenceNumber: 1,
      status: 'open',
      amount: setup.server.price.toString(),
      host: `127.0.0.1:${setup.server.port}`,
      payTo: setup.server.payTo,
      settlementTxHash,
      httpStatus: 200,
      token: setup.server.tokenAddress,
      tokenSymbol: 'X4D',
      tokenDecimals: 18,
      arrivedAmount: '0',
      expectedAmount: null,
      deliveredAt: null,
    });
    expect(apiClaims[0].sellerAnswer).toContain('Payment settled');
    // The endpoint's path (it may carry a secret) is in no claim.
    expect(JSON.stringify(apiClaims)).not.toContain('/api/mint/');
    expect(res.body.task.payments).toEqual({
      settled: 1,
      open: 0,
      refused: 0,
      settledAmount: setup.server.price.toString(),
    });
  });
});

const ops = (...args: string[]) => runOps(setup.stack.env, ...args);

describe('npm run ops -- claims', () => {
  it('lists the claim as the API shows it, filtered by task and by seller (payee or host)', async () => {
    const byTask = await ops('claims', '--task', taskId, '--json');
    expect(byTask.code).toBe(0);
    expect(byTask.json).toEqual(apiClaims);
    expect((await ops('claims', '--seller', setup.server.payTo, '--status', 'open', '--json')).json).toEqual(apiClaims);
    expect((await ops('claims', '--seller', `127.0.0.1:${setup.server.port}`, '--json')).json).toEqual(apiClaims);
    // Filters that name nothing find nothing.
    expect((await ops('claims', '--task', crypto.randomUUID(), '--json')).json).toEqual([]);
    expect((await ops('claims', '--seller', `127.0.0.1:${setup.server.port + 1}`, '--json')).json).toEqual([]);
    expect((await ops('claims', '--status', 'delivered', '--json')).json).toEqual([]);
  });

  it('prints a table with the evidence, and `task <id>` shows the claim beside the payments', async () => {
    const table = await ops('claims', '--task', taskId, '--table');
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(settlementTxHash);
    expect(table.stdout).toContain(setup.server.payTo);
    expect(table.stdout).toMatch(/#1 \S+ answered: ".*Payment settled.*"/);
    const taken = formatUnits(setup.server.price, 6);
    expect(table.stdout).toContain(`1 claim(s); 1 open: ${taken} USDC taken without delivery by 1 payee(s)`);

    const task = await ops('task', taskId, '--json');
    expect(task.json.x402Claims).toEqual(apiClaims);
    expect((await ops('task', taskId, '--table')).stdout).toContain('x402 claims (1): paid, not delivered');
  });

  it('answers a bad filter with usage (exit 2) and touches nothing', async () => {
    for (const args of [
      ['--task', 'nope'],
      ['--seller', 'https://x/y'],
      ['--user', '0x12'],
      ['--status', 'closed'],
    ]) {
      const out = await ops('claims', ...args, '--json');
      expect({ args, code: out.code }).toEqual({ args, code: 2 });
    }
  });
});

describe('MCP task_status', () => {
  it('lists the claim exactly as the task route does, with a note the assistant can relay', async () => {
    const { token } = await keys.createAssistantKey({
      userAddress: user,
      name: 'claims',
      scopes: ['read'],
      dailyCapUsdc: 1_000_000n,
      expiresInDays: 1,
    });
    const client = await connectClient(mcpStdio({ ...setup.stack.env, AGENTMINT_KEY: token }));
    try {
      const status = await callTool(client, 'task_status', { taskId });
      expect(status.isError).toBe(false);
      expect(status.data.task).toMatchObject({ id: taskId, status: 'failed', mintsFailed: 1 });
      expect(status.data.claims).toEqual(apiClaims);
      expect(status.data.claimNote).toContain(
        `127.0.0.1:${setup.server.port} settled 1 payment(s) (${formatUnits(setup.server.price, 6)} USDC)`,
      );
      const resource = await client.readResource({ uri: `agentmint://tasks/${taskId}` });
      expect(JSON.parse((resource.contents[0] as { text: string }).text).claims).toEqual(apiClaims);
    } finally {
      await client.close();
    }
  });
});
