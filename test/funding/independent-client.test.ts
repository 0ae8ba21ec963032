import { type Hex } from 'viem';
import { describe, expect, it } from 'vitest';
import { GET as getTask } from '@/app/api/ai-agent/task/[taskId]/route';
import { getTaskById } from '@/db/tasks';
import { getPublicClient } from '@/lib/chain/clients';
import type { FundingRequest } from '@/lib/tasks/funding-request';
import { call, cookieFor } from '../support/routes';
import { createPendingTask, user } from '../support/fixtures';
import { useTestStack } from '../support/use-test-stack';
import { nowSeconds, postFund, randomNonce, usdcBalance } from './helpers';

// Written as a third-party script would be, against the design's API only: read the task's
// `fundingRequest`, sign it with viem, post it, then try every way of cheating.

const owner = user(8);
const other = user(9);

const stack = useTestStack();

async function fundingRequestOf(taskId: string): Promise<FundingRequest> {
  const res = await call(getTask, `/api/ai-agent/task/${taskId}`, { taskId }, { cookie: cookieFor(owner.address) });
  expect(res.status).toBe(200);
  return res.body.task.fundingRequest as FundingRequest;
}

/** Signs typed data as it arrived over JSON (uint256 values are decimal strings). */
function sign(signer: typeof owner, request: FundingRequest, message: FundingRequest['message'] = request.message) {
  return signer.signTypedData({
    domain: request.domain,
    types: request.types,
    primaryType: request.primaryType,
    message: {
      ...message,
      value: BigInt(message.value),
      validAfter: BigInt(message.validAfter),
      validBefore: BigInt(message.validBefore),
    },
  });
}

describe('an independent client', () => {
  let fundedTaskId: string;
  let fundedNonce: Hex;

  it('funds a task by signing fundingRequest and sees it funded', async () => {
    const task = await createPendingTask({
      userAddress: owner.address,
      token: stack.deployment.tokens[0]!.address,
      quantity: 12,
    });
    const request = await fundingRequestOf(task.id);
    expect(request.primaryType).toBe('TransferWithAuthorization');
    expect(request.domain.chainId).toBe(31337);
    expect(request.message.value).toBe(task.totalCost);
    const before = await usdcBalance(owner.address);

    const res = await postFund(task.id, { authorization: request.message, signature: await sign(owner, request) });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ success: true, task: { id: task.id, status: 'funded' } });
    expect(await usdcBalance(owner.address)).toBe(before - BigInt(task.totalCost));

    const after = await call(
      getTask,
      `/api/ai-agent/task/${task.id}`,
      { taskId: task.id },
      { cookie: cookieFor(owner.address) },
    );
    expect(after.body.task.status).toBe('funded');
    expect(after.body.task.fundingTxHash).toBe(res.body.txHash);
    expect(after.body.task.fundingRequest).toBeNull();
    fundedTaskId = task.id;
    fundedNonce = request.message.nonce;
  });

  it('gets a 4xx for every hostile request, and no request moves funds', async () => {
    const task = await createPendingTask({
      userAddress: owner.address,
      token: stack.deployment.tokens[0]!.address,
      quantity: 12,
    });
    const request = await fundingRequestOf(task.id);
    const fundingMessage = request.message;
    const signed = async (changes: Partial<FundingRequest['message']>, signer = owner) => {
      const message = { ...fundingMessage, ...changes };
      return { authorization: message, signature: await sign(signer, request, message) };
    };
    const good = await signed({});
    const balanceBefore = await usdcBalance(owner.address);
    const otherBefore = await usdcBalance(other.address);
    const operatorNonceBefore = await getPublicClient().getTransactionCount({
      address: stack.operator,
      blockTag: 'pending',
    });

    const attacks: [string, () => Promise<{ status: number; body: Record<string, any> }>][] = [
      ['to swapped to the attacker', async () => postFund(task.id, await signed({ to: other.address }))],
      ['value + 1', async () => postFund(task.id, await signed({ value: String(BigInt(fundingMessage.value) + 1n) }))],
      ['value - 1', async () => postFund(task.id, await signed({ value: String(BigInt(fundingMessage.value) - 1n) }))],
      ['expired', async () => postFund(task.id, await signed({ validBefore: String(nowSeconds() - 60) }))],
      [
        'far future',
        async () => postFund(task.id, await signed({ validBefore: String(nowSeconds() + 365 * 24 * 3600) })),
      ],
      ['milliseconds', async () => postFund(task.id, await signed({ validBefore: String(Date.now() + 600_000) }))],
      ['not yet valid', async () => postFund(task.id, await signed({ validAfter: String(nowSeconds() + 3600) }))],
      ['reused nonce of the funded task', async () => postFund(task.id, await signed({ nonce: fundedNonce }))],
      ["another user's signature", async () => postFund(task.id, await signed({}, other))],
      ['another user as from', async () => postFund(task.id, await signed({ from: other.address }, other))],
      [
        'signature of another message',
        async () =>
          postFund(task.id, { authorization: { ...fundingMessage, nonce: randomNonce() }, signature: good.signature }),
      ],
      ['truncated signature', async () => postFund(task.id, { ...good, signature: good.signature.slice(0, 120) })],
      [
        'value as a number',
        async () =>
          postFund(task.id, { ...good, authorization: { ...fundingMessage, value: Number(fundingMessage.value) } }),
      ],
      [
        'value as hex',
        async () =>
          postFund(task.id, {
            ...good,
            authorization: { ...fundingMessage, value: `0x${BigInt(fundingMessage.value).toString(16)}` },
          }),
      ],
      ['garbage JSON', () => postFund(task.id, null, { raw: '{"authorization":' })],
      ['a JSON array', () => postFund(task.id, [good])],
      ['huge body', () => postFund(task.id, { ...good, junk: 'A'.repeat(20_000) })],
      [
        'form body',
        () => postFund(task.id, null, { raw: 'signature=0x', contentType: 'application/x-www-form-urlencoded' }),
      ],
      ['task id not a UUID', () => postFund('../../admin', good)],
      ['unknown task', () => postFund('00000000-0000-4000-8000-000000000000', good)],
      ['the funded task with a fresh authorization', () => postFund(fundedTaskId, good)],
    ];
    for (const [name, attack] of attacks) {
      const res = await attack();
      expect(res.status, `${name}: ${JSON.stringify(res.body)}`).toBeGreaterThanOrEqual(400);
      expect(res.status, `${name}: ${JSON.stringify(res.body)}`).toBeLessThan(500);
      expect(res.body.error.code, name).toMatch(/^[a-z_]+(:[a-z_]+)?$/);
      expect(res.body.error.message.length, name).toBeGreaterThan(10);
    }
    expect(await usdcBalance(owner.address)).toBe(balanceBefore);
    expect(await usdcBalance(other.address)).toBe(otherBefore);
    expect(await getPublicClient().getTransactionCount({ address: stack.operator, blockTag: 'pending' })).toBe(
      operatorNonceBefore,
    );
    expect((await getTaskById({ id: task.id }))?.status).toBe('pending_payment');

    // Random damage to each field (seeded, so a failure reproduces): always a 4xx, never a 5xx.
    let seed = 3009;
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    const flip = (v: string) => {
      if (v.length <= 2) return `${v}1`;
      const index = 2 + rand(v.length - 2);
      return v.slice(0, index) + (v[index] === '0' ? '1' : '0') + v.slice(index + 1);
    };
    const junk = [
      null,
      '',
      7,
      -1,
      1.5,
      {},
      [],
      true,
      'x'.repeat(1000),
      '0x',
      '\u0000',
      '１２３',
      `0x${'f'.repeat(64)}`,
      Number.MAX_SAFE_INTEGER + 2,
    ];
    const fields = ['from', 'to', 'value', 'validAfter', 'validBefore', 'nonce'] as const;
    for (let i = 0; i < 40; i++) {
      const body: Record<string, any> = { authorization: { ...good.authorization }, signature: good.signature };
      const field = rand(fields.length + 1);
      const replace = rand(2) === 0;
      if (field === fields.length) body.signature = replace ? junk[rand(junk.length)] : flip(good.signature);
      else {
        const name = fields[field]!;
        body.authorization[name] = replace ? junk[rand(junk.length)] : flip(String(good.authorization[name]));
      }
      const res = await postFund(task.id, body);
      expect(
        res.status,
        `mutation ${i}: ${JSON.stringify(body).slice(0, 300)} → ${JSON.stringify(res.body)}`,
      ).toBeGreaterThanOrEqual(400);
      expect(res.status, `mutation ${i}: ${JSON.stringify(res.body)}`).toBeLessThan(500);
    }
    expect(await usdcBalance(owner.address)).toBe(balanceBefore);

    // And the honest request still works afterwards.
    const res = await postFund(task.id, good);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(await usdcBalance(owner.address)).toBe(balanceBefore - BigInt(fundingMessage.value));
  });
});
