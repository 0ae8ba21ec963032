// `npm run bench:x402`: a 100-mint x402 task through the worker against the local x402 mint
// server (official @x402 packages, in-process facilitator settling on anvil), against a
// sequential baseline on the same server in the same run: pay one mint with the official
// client, wait for the answer, next. Unpaced (MINT_INTERVAL_MS=0), default batch size.
// Also counts the requests the server saw: they must equal paid mints + 402 probes + the
// waits the endpoint asked for (no request made twice by the client's own doing).
import { createWalletClient, http, type Address } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { x402HTTPClient } from '@x402/core/client';
import { getTaskById, wakeWorkers } from '@/db/tasks';
import { getChain, getPublicClient } from '@/lib/chain/clients';
import { testUSDCAbi } from '@/lib/chain/contracts.generated';
import { createPaymentClient } from '@/lib/x402/payment-client';
import { anvilAccount } from '@/scripts/local/anvil';
import { startTestStack } from '@/test/support/stack';
import { createFundedX402Task, probeTerms } from '@/test/x402/support';
import { paymentRequiredOf } from '@/worker/x402/payment';

const N = 100;
const stack = await startTestStack({
  env: { MINT_INTERVAL_MS: '0', X402_ALLOWED_HOSTS: '127.0.0.1', CHECK_INTERVAL_MS: '600000', LOG_LEVEL: 'silent', LOG_FORMAT: 'json', NODE_ENV: 'production' },
});
const { startX402MintServer } = await import('@/scripts/local/x402-mint-server');
const server = await startX402MintServer({ rpcUrl: stack.anvil.url, usdc: stack.deployment.usdc });
const { MintWorker } = await import('@/worker/loop');
const { getConfig } = await import('@/lib/config');
const line = (label: string, value: string) => console.log(`  ${label.padEnd(52)} ${value}`);
const newUser = () => privateKeyToAccount(generatePrivateKey()).address;

/** Baseline: one payer, one mint at a time: sign (official client), POST, read the answer. */
async function sequential() {
  const payer = privateKeyToAccount(generatePrivateKey());
  const terms = await probeTerms(server.mintUrl(), newUser());
  const owner = createWalletClient({ account: anvilAccount(0), chain: getChain(), transport: http(stack.anvil.url) });
  await getPublicClient().waitForTransactionReceipt({
    hash: await owner.writeContract({ address: server.usdc, abi: testUSDCAbi, functionName: 'mint', args: [payer.address, BigInt(terms.requirement.amount) * BigInt(N)] }),
  });
  const client = new x402HTTPClient(createPaymentClient(payer, { network: `eip155:${server.chainId}`, asset: server.usdc, amount: BigInt(terms.requirement.amount), domain: terms.domain }));
  const started = performance.now();
  const settleBefore = server.stats.settleMs;
  const mintBefore = server.stats.mintMs;
  for (let i = 0; i < N; i++) {
    const payload = await client.createPaymentPayload(paymentRequiredOf(terms));
    const res = await fetch(terms.url, { method: 'POST', headers: { ...client.encodePaymentSignatureHeader(payload), 'content-type': 'application/json' }, body: JSON.stringify(terms.body) });
    if (res.status !== 200) throw new Error(`baseline mint ${i} answered ${res.status}`);
    await res.arrayBuffer();
  }
  const ms = performance.now() - started;
  line('  of which the server settling / minting (serial)', `${((server.stats.settleMs - settleBefore) / N).toFixed(1)} / ${((server.stats.mintMs - mintBefore) / N).toFixed(1)} ms per mint`);
  return ms;
}

/** The worker: one funded 100-mint task, woken once; time to completion. */
async function worker() {
  const user = newUser();
  const before = { ...server.stats };
  const terms = await probeTerms(server.mintUrl(), user);
  const task = await createFundedX402Task({ userAddress: user, terms, quantity: N, token: server.tokenAddress });
  const w = new MintWorker();
  const done = new Promise<void>((resolve) => (w.onTaskDone = () => resolve()));
  await w.start();
  const started = performance.now();
  await wakeWorkers(task.id);
  await done;
  const ms = performance.now() - started;
  await w.stop();
  const final = (await getTaskById({ id: task.id }))!;
  if (final.status !== 'completed') throw new Error(`task ended ${final.status}: ${final.errorMessage}`);
  const seen = { requests: server.stats.requests - before.requests, unpaid: server.stats.unpaid - before.unpaid, waits: server.stats.rateLimited - before.rateLimited, minted: server.stats.minted - before.minted };
  return { ms, seen, mints: final.mintsCompleted };
}

console.log(`bench:x402 — ${N} mints, batch ${getConfig().worker.batchSize}, MINT_INTERVAL_MS=0, local x402 server (v2, upfront settlement, one at a time per key)`);
const base = await sequential();
const run = await worker();
const rate = (ms: number) => `${((N * 1000) / ms).toFixed(1)} mints/s (${(ms / 1000).toFixed(2)} s)`;
line('sequential baseline (pay, wait answer, next)', rate(base));
line(`worker, ${getConfig().worker.batchSize} paid requests in flight`, rate(run.ms));
line('ratio worker / baseline', `${(base / run.ms).toFixed(2)}×`);
const expected = run.mints + run.seen.unpaid + run.seen.waits;
line('requests the server saw for the task', `${run.seen.requests} = ${run.mints} paid mints + ${run.seen.unpaid} 402 probe(s) + ${run.seen.waits} waits asked for${run.seen.requests === expected ? '' : `  ✗ expected ${expected}`}`);
await server.stop();
await stack.stop();
process.exit(run.seen.requests === expected ? 0 : 1);
