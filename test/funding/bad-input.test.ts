import { getAddress } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { beforeAll, describe, expect, it } from 'vitest';
import { getSql } from '@/db/client';
import { getTaskById, transitionTask, type TaskWithAgent } from '@/db/tasks';
import { getKnownContracts, getPublicClient } from '@/lib/chain/clients';
import { testUSDCAbi } from '@/lib/chain/contracts.generated';
import { chainClients, mined } from '../contracts/chain-helpers';
import { createPendingTask, user } from '../support/fixtures';
import { useTestStack } from '../support/use-test-stack';
import {
  authorizationFor,
  nowSeconds,
  postFund,
  randomNonce,
  signAuthorization,
  usdcBalance,
  type AuthorizationJson,
} from './helpers';

let task: TaskWithAgent;
const owner = user(1);
const stranger = user(3);

const stack = useTestStack();

beforeAll(async () => {
  task = await createPendingTask({
    userAddress: owner.address,
    token: stack.deployment.tokens[0]!.address,
    quantity: 5,
  });
});

const operatorNonce = () => getPublicClient().getTransactionCount({ address: stack.operator, blockTag: 'pending' });

/** Posts, then insists: the expected 4xx and code, no transaction sent, no USDC moved, task untouched. */
async function expectRejected(
  send: () => Promise<{ status: number; body: Record<string, any> }>,
  status: number,
  code: string,
  message?: RegExp,
) {
  const [nonceBefore, balanceBefore, rowBefore] = await Promise.all([
    operatorNonce(),
    usdcBalance(owner.address),
    getTaskById({ id: task.id }),
  ]);
  const res = await send();
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body.error.code).toBe(code);
  expect(typeof res.body.error.message).toBe('string');
  if (message) expect(res.body.error.message).toMatch(message);
  expect(await operatorNonce()).toBe(nonceBefore);
  expect(await usdcBalance(owner.address)).toBe(balanceBefore);
  const rowAfter = await getTaskById({ id: task.id });
  expect(rowAfter?.status).toBe('pending_payment');
  expect(rowAfter?.updatedAt.getTime()).toBe(rowBefore?.updatedAt.getTime());
  expect(rowAfter?.fundingTxHash).toBeNull();
  return res;
}

async function signed(overrides: Partial<AuthorizationJson> = {}, signer = owner) {
  const authorization = authorizationFor(task, overrides);
  return { authorization, signature: await signAuthorization(signer, authorization) };
}

describe('fund route: bad input gets a 4xx naming the problem and changes nothing', () => {
  it('malformed JSON', () =>
    expectRejected(() => postFund(task.id, null, { raw: '{"authorization": {' }), 400, 'bad_request:fund', /JSON/));
  it('wrong content type', () =>
    expectRejected(
      () => postFund(task.id, null, { raw: 'authorization=1', contentType: 'text/plain' }),
      415,
      'unsupported_media_type:request',
    ));
  it('body over 16 KB', async () => {
    const body = await signed();
    await expectRejected(
      () => postFund(task.id, { ...body, padding: 'x'.repeat(17 * 1024) }),
      413,
      'payload_too_large:fund',
    );
  });
  it('missing fields', async () => {
    const { authorization, signature } = await signed();
    const { nonce: _n, ...withoutNonce } = authorization;
    await expectRejected(
      () => postFund(task.id, { authorization: withoutNonce, signature }),
      400,
      'bad_request:fund',
      /nonce/,
    );
    await expectRejected(() => postFund(task.id, { authorization }), 400, 'bad_request:fund', /signature/);
  });
  it('wrongly typed fields', async () => {
    const { authorization, signature } = await signed();
    await expectRejected(
      () => postFund(task.id, { authorization: { ...authorization, value: Number(authorization.value) }, signature }),
      400,
      'bad_request:fund',
      /value/,
    );
    await expectRejected(
      () => postFund(task.id, { authorization: { ...authorization, value: '1.5' }, signature }),
      400,
      'bad_request:fund',
      /value/,
    );
    await expectRejected(
      () => postFund(task.id, { authorization: { ...authorization, from: 'alice' }, signature }),
      400,
      'bad_request:fund',
      /from/,
    );
    // Every letter's case flipped: mixed case that is not the EIP-55 checksum.
    const checksummed = getAddress(authorization.to);
    const flipped = `0x${[...checksummed.slice(2)].map((c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase())).join('')}`;
    await expectRejected(
      () => postFund(task.id, { authorization: { ...authorization, to: flipped }, signature }),
      400,
      'bad_request:fund',
      /checksum/,
    );
    await expectRejected(
      () => postFund(task.id, { authorization: { ...authorization, nonce: '0x1234' }, signature }),
      400,
      'bad_request:fund',
      /nonce/,
    );
    await expectRejected(
      () => postFund(task.id, { authorization: { ...authorization, validBefore: -5 }, signature }),
      400,
      'bad_request:fund',
      /validBefore/,
    );
  });
  it('a signature that is not 65-byte hex', async () => {
    const { authorization, signature } = await signed();
    await expectRejected(
      () => postFund(task.id, { authorization, signature: signature.slice(0, 130) }),
      400,
      'bad_request:fund',
      /65 bytes/,
    );
    await expectRejected(
      () => postFund(task.id, { authorization, signature: `0x${'zz'.repeat(65)}` }),
      400,
      'bad_request:fund',
      /65 bytes/,
    );
    await expectRejected(
      () => postFund(task.id, { authorization, signature: `${signature}00` }),
      400,
      'bad_request:fund',
      /65 bytes/,
    );
  });
  it('a high-s signature', async () => {
    const { authorization, signature } = await signed();
    const curveOrder = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const s = BigInt(`0x${signature.slice(66, 130)}`);
    const v = Number.parseInt(signature.slice(130), 16) === 27 ? '1c' : '1b';
    const highS = `${signature.slice(0, 66)}${(curveOrder - s).toString(16).padStart(64, '0')}${v}`;
    await expectRejected(
      () => postFund(task.id, { authorization, signature: highS }),
      400,
      'bad_request:fund',
      /high s/,
    );
  });
  it('a wrong signer', async () => {
    const body = await signed({}, stranger);
    await expectRejected(() => postFund(task.id, body), 400, 'bad_request:fund', /signature was not made by/);
  });
  it('a signature over another domain (wrong chain id)', async () => {
    const authorization = authorizationFor(task);
    const signature = await signAuthorization(owner, authorization, { chainId: 8453 });
    await expectRejected(
      () => postFund(task.id, { authorization, signature }),
      400,
      'bad_request:fund',
      /chainId 31337/,
    );
  });
  it('from is not the owner', async () => {
    const body = await signed({ from: stranger.address }, stranger);
    const res = await expectRejected(() => postFund(task.id, body), 403, 'forbidden:fund', /not the owner/);
    expect(res.body.error.message).not.toContain(owner.address);
  });
  it('to is not the agent wallet', async () => {
    const body = await signed({ to: stranger.address });
    await expectRejected(() => postFund(task.id, body), 400, 'bad_request:fund', /agent wallet/);
  });
  it('value above or below the cost', async () => {
    await expectRejected(
      async () => postFund(task.id, await signed({ value: String(BigInt(task.totalCost) + 1n) })),
      400,
      'bad_request:fund',
      /above/,
    );
    await expectRejected(
      async () => postFund(task.id, await signed({ value: String(BigInt(task.totalCost) - 1n) })),
      400,
      'bad_request:fund',
      /below/,
    );
  });
  it('expired, expiring within seconds, not yet valid, far future, milliseconds', async () => {
    await expectRejected(
      async () => postFund(task.id, await signed({ validBefore: String(nowSeconds() - 1) })),
      400,
      'bad_request:fund',
      /expired/,
    );
    await expectRejected(
      async () => postFund(task.id, await signed({ validBefore: String(nowSeconds() + 5) })),
      400,
      'bad_request:fund',
      /too soon/,
    );
    await expectRejected(
      async () => postFund(task.id, await signed({ validAfter: String(nowSeconds() + 600) })),
      400,
      'bad_request:fund',
      /not valid yet/,
    );
    await expectRejected(
      async () => postFund(task.id, await signed({ validBefore: String(nowSeconds() + 30 * 24 * 3600) })),
      400,
      'bad_request:fund',
      /too far/,
    );
    await expectRejected(
      async () => postFund(task.id, await signed({ validBefore: String(Date.now() + 3_600_000) })),
      400,
      'bad_request:fund',
      /seconds, not milliseconds/,
    );
  });
  it('a nonce already used on chain for something else', async () => {
    const { walletFor } = chainClients(stack.anvil.url);
    const nonce = randomNonce();
    // The owner spends the nonce paying someone else directly.
    const other = authorizationFor(task, { to: stranger.address, value: '1', nonce });
    const otherSig = await signAuthorization(owner, other);
    await mined(
      getPublicClient(),
      await walletFor(stranger).writeContract({
        address: getKnownContracts().usdc,
        abi: testUSDCAbi,
        functionName: 'transferWithAuthorization',
        args: [other.from, other.to, 1n, 0n, BigInt(other.validBefore), nonce, otherSig],
      }),
    );
    await expectRejected(
      async () => postFund(task.id, await signed({ nonce })),
      409,
      'conflict:fund',
      /already used or cancelled on chain/,
    );
  });
  it('a nonce already used in the database by another task', async () => {
    const funded = await createPendingTask({
      userAddress: owner.address,
      token: stack.deployment.tokens[0]!.address,
      quantity: 5,
    });
    const first = await signed();
    const ok = await postFund(funded.id, first);
    expect(ok.status).toBe(200);
    // Same nonce, same amount and agent: the chain would refuse it too, but the database answers first.
    await expectRejected(() => postFund(task.id, first), 409, 'conflict:fund', /another task/);
  });
  it('a balance too low', async () => {
    const poor = privateKeyToAccount(generatePrivateKey());
    const poorTask = await createPendingTask({
      userAddress: poor.address,
      token: stack.deployment.tokens[0]!.address,
      quantity: 1,
    });
    const authorization = authorizationFor(poorTask);
    const signature = await signAuthorization(poor, authorization);
    const nonceBefore = await operatorNonce();
    const res = await postFund(poorTask.id, { authorization, signature });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/balance/);
    expect(await operatorNonce()).toBe(nonceBefore);
    expect((await getTaskById({ id: poorTask.id }))?.status).toBe('pending_payment');
  });
  it('an unknown task id and a task id that is not a UUID', async () => {
    const body = await signed();
    await expectRejected(() => postFund('5b0c1f47-7d4a-4d2f-9a55-0c1c2b3d4e5f', body), 404, 'not_found:task');
    await expectRejected(() => postFund('not-a-uuid', body), 400, 'bad_request:task', /UUID/);
    await expectRejected(() => postFund("1' or '1'='1", body), 400, 'bad_request:task');
  });
  it('a task whose payment window has closed', async () => {
    const late = await createPendingTask({
      userAddress: owner.address,
      token: stack.deployment.tokens[0]!.address,
      quantity: 2,
    });
    await getSql()`update ai_agent_tasks set created_at = now() - interval '11 minutes' where id = ${late.id}`;
    const authorization = authorizationFor(late);
    const signature = await signAuthorization(owner, authorization);
    const [nonceBefore, balanceBefore] = await Promise.all([operatorNonce(), usdcBalance(owner.address)]);
    const res = await postFund(late.id, { authorization, signature });
    expect(res.status).toBe(409);
    expect(res.body.error.message).toMatch(/payment window/);
    expect(await operatorNonce()).toBe(nonceBefore);
    expect(await usdcBalance(owner.address)).toBe(balanceBefore);
    expect((await getTaskById({ id: late.id }))?.status).toBe('pending_payment');
  });
  it.each(['funded', 'cancelled', 'completed'] as const)('a task that is %s', async (status) => {
    const other = await createPendingTask({
      userAddress: owner.address,
      token: stack.deployment.tokens[0]!.address,
      quantity: 3,
    });
    if (status === 'completed') {
      await transitionTask({ id: other.id, from: 'pending_payment', to: 'funded' });
      await transitionTask({ id: other.id, from: 'funded', to: 'processing' });
    }
    await transitionTask({ id: other.id, from: ['pending_payment', 'processing'], to: status });
    const authorization = authorizationFor(other);
    const signature = await signAuthorization(owner, authorization);
    const nonceBefore = await operatorNonce();
    const balanceBefore = await usdcBalance(owner.address);
    const res = await postFund(other.id, { authorization, signature });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('conflict:task');
    expect(res.body.error.message).toContain(status);
    expect(await operatorNonce()).toBe(nonceBefore);
    expect(await usdcBalance(owner.address)).toBe(balanceBefore);
    expect((await getTaskById({ id: other.id }))?.status).toBe(status);
  });
});
