import { eq } from 'drizzle-orm';
import type { Address } from 'viem';
import { beforeEach, describe, expect, it } from 'vitest';
import { POST as chatPOST } from '@/app/api/ai-agent/chat/route';
import { GET as taskGET } from '@/app/api/ai-agent/task/[taskId]/route';
import { getDb } from '@/db/client';
import { aiAgentTasks } from '@/db/schema';
import { getTaskById } from '@/db/tasks';
import { resetRateLimits } from '@/lib/rate-limit';
import { createX402Task } from '@/lib/tasks/create-x402-task';
import { call, cookieFor } from '../ai/support/http';
import { authorizationFor, postFund, signAuthorization, usdcBalance } from '../funding/helpers';
import { user } from '../support/fixtures';
import { useX402Setup } from './support';

// x402 tasks through the chat route (offline model, real Postgres, anvil and the local x402
// server): what is stored and replied, what is refused with nothing stored, and that funding
// an x402 task is the same one signature as a contract task.
const setup = useX402Setup();
beforeEach(() => resetRateLimits());

const [alice, bob, carol] = [1, 2, 3].map((i) => user(i).address) as [Address, Address, Address];
const short = (a: string) => `${a.slice(0, 6)}...${a.slice(-4)}`;
const chat = (as: string, message: string) =>
  call(chatPOST as never, '/api/ai-agent/chat', {}, { cookie: cookieFor(as), body: { message } });
const tasksOf = (address: string) =>
  getDb().select().from(aiAgentTasks).where(eq(aiAgentTasks.userAddress, address.toLowerCase()));

describe('x402 tasks from the chat', () => {
  it('"mint 20 from <url>" probes, stores the terms and replies with host, price, total, network, token, agent and id', async () => {
    const before = setup.server.stats.paid;
    const response = await chat(alice, `mint 20 from ${setup.server.mintUrl()}`);
    expect(response.status).toBe(200);
    const [row] = await tasksOf(alice);
    expect(row).toMatchObject({
      route: 'x402',
      tokenAddress: setup.server.tokenAddress.toLowerCase(),
      quantity: 20,
      pricePerMint: '10000',
      totalCost: '200000',
      status: 'pending_payment',
    });
    expect(row!.x402).toMatchObject({
      url: setup.server.mintUrl(),
      method: 'POST',
      version: 2,
      mintsToUser: true,
      body: { quantity: 1, recipient: alice },
      domain: setup.server.domain,
    });
    expect(response.body.task).toMatchObject({
      id: row!.id,
      route: 'x402',
      endpoint: {
        host: `127.0.0.1:${setup.server.port}`,
        version: 2,
        network: 'eip155:31337',
        asset: setup.stack.deployment.usdc,
        payTo: setup.server.payTo,
        mintsToUser: true,
      },
    });
    expect(JSON.stringify(response.body.task)).not.toContain('/api/mint');
    const reply: string = response.body.reply;
    expect(reply).toContain('✅ Task created!');
    expect(reply).toContain(`Endpoint: 127.0.0.1:${setup.server.port} (x402 v2)`);
    expect(reply).toContain(`Token: ${short(setup.server.tokenAddress)} (X4D)`);
    expect(reply).toMatch(
      /Quantity: 20 mints\nUnit price: 0\.01 USDC\/mint\nTotal cost: 0\.2 USDC\nNetwork and asset: eip155:31337 · USDC /,
    );
    expect(reply.toLowerCase()).toContain(response.body.task.agentAddress.toLowerCase());
    expect(reply).toContain(`Task ID: ${row!.id}`);
    expect(setup.server.stats.paid).toBe(before);
  });

  it('Chinese: "帮我在 <url> mint 20 次"', async () => {
    const response = await chat(bob, `帮我在 ${setup.server.mintUrl()} mint 20 次`);
    expect(response.body.reply).toContain('✅ 任务创建成功！');
    expect(response.body.reply).toMatch(/数量: 20 次\n单价: 0\.01 USDC\/mint\n总成本: 0\.2 USDC/);
    expect(response.body.reply).toContain(`任务ID: ${response.body.task.id}`);
    expect(response.body.task).toMatchObject({ route: 'x402', quantity: 20, totalCost: '200000' });
  });

  it('refuses, in the user’s language and storing nothing: another network, not 402, the metadata address, http', async () => {
    const other = await chat(carol, `mint 3 from ${setup.server.mintUrl('other-network')}`);
    expect(other.body.reply).toContain('wants payment on eip155:1');
    const otherZh = await chat(carol, `帮我在 ${setup.server.mintUrl('other-network')} mint 3 次`);
    expect(otherZh.body.reply).toContain('要求在 eip155:1 上付款');
    const not402 = await chat(carol, `mint 3 from ${setup.server.url}/health`);
    expect(not402.body.reply).toContain('not 402 Payment Required');
    const metadata = await chat(carol, '帮我在 https://169.254.169.254/latest/api/mint mint 3 次');
    expect(metadata.body.reply).toContain('内网/保留地址（metadata）');
    const plain = await chat(carol, 'mint 3 from http://mint.example/api/mint');
    expect(plain.body.reply).toContain('mint.example is not https');
    const tooMany = await chat(carol, `mint 1001 from ${setup.server.mintUrl()}`);
    expect(tooMany.body.reply).toContain('from 1 to 1000');
    expect(await tasksOf(carol)).toHaveLength(0);
  });

  it('the task detail shows the route and host, and funding is the usual one signature of quantity × price', async () => {
    const task = await createX402Task({ userAddress: alice, url: setup.server.mintUrl(), quantity: 10 });
    const detail = await call(
      taskGET as never,
      `/api/ai-agent/task/${task.id}`,
      { taskId: task.id },
      { cookie: cookieFor(alice) },
    );
    const dto = detail.body.task ?? detail.body;
    expect(dto).toMatchObject({
      route: 'x402',
      endpoint: { host: `127.0.0.1:${setup.server.port}` },
      totalCost: '100000',
    });
    expect(dto.fundingRequest.message.value).toBe('100000');

    const agentBefore = await usdcBalance(task.agentAddress as Address);
    const authorization = authorizationFor(task);
    const funded = await postFund(task.id, {
      authorization,
      signature: await signAuthorization(user(1), authorization),
    });
    expect(funded.status).toBe(200);
    expect((await getTaskById({ id: task.id }))!.status).toBe('funded');
    expect((await usdcBalance(task.agentAddress as Address)) - agentBefore).toBe(100000n);
  });
});
