import { createWalletClient, http, parseSignature, type Address, type Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTaskById } from '@/db/tasks';
import { listX402ClaimsByTask } from '@/db/x402-claims';
import { listX402PaymentsByTask } from '@/db/x402-payments';
import { getChain, getPublicClient } from '@/lib/chain/clients';
import { testUSDCAbi } from '@/lib/chain/contracts.generated';
import { anvilAccount } from '@/scripts/local/anvil';
import { waitForTasks } from '../worker/support';
import { createFundedX402Task, probeTerms, settledOnChain, startBlockMiner, useX402Setup } from './support';

// Expiry by chain time (issue 22: expiry was judged by the worker's clock, so on a chain whose
// clock lags an "expired" authorization could still be settled after a new one was signed for
// the same mint). Here the chain runs two minutes behind the worker. An authorization the
// worker's clock calls expired is still live by the chain's, so the worker keeps it open and
// reserved, signs nothing new for its mint, and records the settlement when it comes.

const LAG_SECONDS = 120;

let rpcUrl: string;
let stopMiner: () => void;

const setup = useX402Setup({
  chainId: 31337,
  env: {
    MINT_INTERVAL_MS: '0',
    X402_REQUEST_TIMEOUT_MS: '1500',
    LEASE_MS: '5000',
    CHECK_INTERVAL_MS: '200',
    X402_MAX_REFUSALS: '1',
    // No operator cancels: the refused authorization can only end by expiring.
    X402_MAX_CANCELS_PER_TASK: '0',
    X402_MAX_AUTHORIZATION_SECONDS: '10',
    X402_DELIVERY_TIMEOUT_MS: '2000',
  },
  workerId: 'x402-chain-time',
});

beforeAll(async () => {
  rpcUrl = setup.stack.env.RPC_URL!;
  const client = getPublicClient();
  await client.request({
    method: 'anvil_setTime' as never,
    params: [Math.floor(Date.now() / 1000) - LAG_SECONDS] as never,
  });
  await client.request({ method: 'evm_mine' as never, params: [] as never });
  stopMiner = startBlockMiner(rpcUrl, 500);
}, 120_000);

afterAll(async () => {
  stopMiner?.();
}, 30_000);

describe('expiry judged by chain time', () => {
  it('keeps an authorization the worker clock calls expired open while the lagging chain can still settle it, and records the settlement', async () => {
    const latest = await getPublicClient().getBlock({ blockTag: 'latest' });
    expect(Date.now() / 1000 - Number(latest.timestamp)).toBeGreaterThan(LAG_SECONDS - 5);

    const user = privateKeyToAccount(generatePrivateKey()).address;
    const terms = await probeTerms(setup.server.mintUrl('refuse-all'), user);
    const task = await createFundedX402Task({
      userAddress: user,
      terms,
      quantity: 10,
      token: setup.server.tokenAddress,
    });
    while ((await listX402PaymentsByTask({ taskId: task.id })).length === 0)
      await new Promise((r) => setTimeout(r, 50));
    const [p1] = await listX402PaymentsByTask({ taskId: task.id });
    const validBefore = Number(p1!.authorization.validBefore);

    // Past validBefore by the worker's clock, two minutes before it by the chain's.
    await new Promise((r) => setTimeout(r, Math.max(0, (validBefore + 2) * 1000 - Date.now())));
    let rows = await listX402PaymentsByTask({ taskId: task.id });
    expect(rows.map((r) => [r.sequenceNumber, r.status])).toEqual([[1, 'sent']]);
    expect((await getTaskById({ id: task.id }))!.status).toBe('processing');

    // The seller settles it, as the lagging chain allows.
    const seller = createWalletClient({
      account: anvilAccount(3),
      chain: { ...getChain(), id: 31337 },
      transport: http(rpcUrl),
    });
    const firstAuthorization = p1!.authorization;
    const { v, r, s } = parseSignature(p1!.signature as Hex);
    const settlement = await seller.writeContract({
      address: setup.server.usdc,
      abi: testUSDCAbi,
      functionName: 'transferWithAuthorization',
      args: [
        firstAuthorization.from as Address,
        firstAuthorization.to as Address,
        BigInt(firstAuthorization.value!),
        BigInt(firstAuthorization.validAfter!),
        BigInt(firstAuthorization.validBefore!),
        firstAuthorization.nonce as Hex,
        Number(v),
        r,
        s,
      ],
    });
    expect((await getPublicClient().waitForTransactionReceipt({ hash: settlement })).status).toBe('success');

    // The ledger records the settlement, never an expiry; nothing else was signed for the mint;
    // the seller delivered nothing, so it is a claim.
    const [done] = await waitForTasks([task.id], ['failed'], 40_000);
    rows = await listX402PaymentsByTask({ taskId: task.id });
    expect(rows.map((r) => [r.sequenceNumber, r.status, r.settlementTxHash])).toEqual([[1, 'settled', settlement]]);
    const claims = await listX402ClaimsByTask({ taskId: task.id });
    expect(claims.map((c) => c.settlementTxHash)).toEqual([settlement]);
    expect(done!.errorMessage).toMatch(/refused 1 paid request/);
    const chain = await settledOnChain(setup.server.usdc, task.agentAddress as Address, setup.server.payTo);
    expect([chain.count, [...chain.txHashes]]).toEqual([1, [settlement]]);
  });
});
