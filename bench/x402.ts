// `npm run bench:x402`: a 100-mint x402 task through the worker against the local x402 mint
// server (official @x402 packages, in-process facilitator settling on anvil), against a
// sequential baseline on the same server in the same run: pay one mint with the official
// client, wait for the answer, next. Unpaced (MINT_INTERVAL_MS=0), default batch size.
// The server runs as its own process, as an endpoint does (and as `npm start` runs it beside
// the app): in this process it would share the worker's one JavaScript thread, and the bench
// would measure that thread rather than the worker's overlap.
// Also counts the requests the server saw: they must equal paid mints + 402 probes + the
// waits the endpoint asked for (no request made twice by the client's own doing).
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { createWalletClient, http, type Address } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { x402HTTPClient } from '@x402/core/client';
import { getTaskById, wakeWorkers } from '@/db/tasks';
import { getChain, getPublicClient } from '@/lib/chain/clients';
import { testUSDCAbi } from '@/lib/chain/contracts.generated';
import { createPaymentClient } from '@/lib/x402/payment-client';
import { anvilAccount } from '@/scripts/local/anvil';
import { freePort } from '@/scripts/local/ports';
import { startTestStack } from '@/test/support/stack';
import { cpuNow, cpuSince, processCpuMs, type Cpu } from './cpu';
import { createFundedX402Task, probeTerms } from '@/test/support/x402';
import { paymentRequiredOf } from '@/worker/x402/payment';

const stack = await startTestStack({
  env: {
    MINT_INTERVAL_MS: '0',
    X402_ALLOWED_HOSTS: '127.0.0.1',
    CHECK_INTERVAL_MS: '600000',
    LOG_LEVEL: 'silent',
    LOG_FORMAT: 'json',
    NODE_ENV: 'production',
  },
});
const server = await startServerProcess(stack.anvil.url, stack.deployment.usdc);
const { MintWorker } = await import('@/worker/loop');
const { getConfig } = await import('@/lib/config');
const line = (label: string, value: string) => console.log(`  ${label.padEnd(52)} ${value}`);
const newUser = () => privateKeyToAccount(generatePrivateKey()).address;

type Stats = {
  requests: number;
  unpaid: number;
  rateLimited: number;
  minted: number;
  settleMs: number;
  mintMs: number;
};

/** `npm run x402:server` as a child process on a free port; resolves once it answers. */
async function startServerProcess(rpcUrl: string, usdc: Address) {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'scripts/local/x402-mint-server.ts', '--rpc', rpcUrl, '--usdc', usdc, '--port', String(port)],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the x402 mint server exited with ${child.exitCode}`);
    const info = await fetch(url).then(
      (r) => (r.ok ? r.json() : undefined),
      () => undefined,
    );
    if (info) {
      const { token, chainId, mintUrl, settlers } = info as {
        token: Address;
        chainId: number;
        mintUrl: string;
        settlers: Address[];
      };
      return {
        usdc,
        chainId,
        tokenAddress: token,
        settlers,
        mintUrl: () => mintUrl,
        cpuMs: () => processCpuMs(child.pid!),
        stats: async () => (await (await fetch(`${url}/stats`)).json()) as Stats,
        stop: () => new Promise<void>((resolve) => (child.once('exit', () => resolve()), child.kill('SIGTERM'))),
      };
    }
    if (Date.now() > deadline) throw new Error('the x402 mint server did not start within 60 s');
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Baseline: one payer, one mint at a time: sign (official client), POST, read the answer. */
async function sequential(N: number) {
  const payer = privateKeyToAccount(generatePrivateKey());
  const terms = await probeTerms(server.mintUrl(), newUser());
  const owner = createWalletClient({ account: anvilAccount(0), chain: getChain(), transport: http(stack.anvil.url) });
  await getPublicClient().waitForTransactionReceipt({
    hash: await owner.writeContract({
      address: server.usdc,
      abi: testUSDCAbi,
      functionName: 'mint',
      args: [payer.address, BigInt(terms.requirement.amount) * BigInt(N)],
    }),
  });
  const client = new x402HTTPClient(
    createPaymentClient(payer, {
      network: `eip155:${server.chainId}`,
      asset: server.usdc,
      amount: BigInt(terms.requirement.amount),
      domain: terms.domain,
    }),
  );
  const started = performance.now();
  const cpu = cpuNow();
  const serverCpu = server.cpuMs();
  const before = await server.stats();
  for (let i = 0; i < N; i++) {
    const payload = await client.createPaymentPayload(paymentRequiredOf(terms));
    const res = await fetch(terms.url, {
      method: 'POST',
      headers: { ...client.encodePaymentSignatureHeader(payload), 'content-type': 'application/json' },
      body: JSON.stringify(terms.body),
    });
    if (res.status !== 200) throw new Error(`baseline mint ${i} answered ${res.status}`);
    await res.arrayBuffer();
  }
  const ms = performance.now() - started;
  const after = await server.stats();
  line(
    '  of which the server settling / minting',
    `${((after.settleMs - before.settleMs) / N).toFixed(1)} / ${((after.mintMs - before.mintMs) / N).toFixed(1)} ms per mint`,
  );
  return { ms, cpu: cpuSince(cpu), serverCpu: server.cpuMs() - serverCpu };
}

/** The worker: one funded N-mint task, woken once; time to completion. */
async function worker(N: number) {
  const user = newUser();
  const before = await server.stats();
  const terms = await probeTerms(server.mintUrl(), user);
  const task = await createFundedX402Task({ userAddress: user, terms, quantity: N, token: server.tokenAddress });
  const mintWorker = new MintWorker();
  const done = new Promise<void>((resolve) => (mintWorker.onTaskDone = () => resolve()));
  await mintWorker.start();
  const started = performance.now();
  const cpu = cpuNow();
  const serverCpu = server.cpuMs();
  await wakeWorkers(task.id);
  await done;
  const ms = performance.now() - started;
  const used = cpuSince(cpu);
  const usedByServer = server.cpuMs() - serverCpu;
  await mintWorker.stop();
  const final = (await getTaskById({ id: task.id }))!;
  if (final.status !== 'completed') throw new Error(`task ended ${final.status}: ${final.errorMessage}`);
  const after = await server.stats();
  const seen = {
    requests: after.requests - before.requests,
    unpaid: after.unpaid - before.unpaid,
    waits: after.rateLimited - before.rateLimited,
    minted: after.minted - before.minted,
  };
  return { ms, cpu: used, serverCpu: usedByServer, seen, mints: final.mintsCompleted };
}

const rate = (n: number, ms: number) => `${((n * 1000) / ms).toFixed(1)} mints/s (${(ms / 1000).toFixed(2)} s)`;
const cpuMs = ({ cpu: c, serverCpu }: { cpu: Cpu; serverCpu: number }) => c.worker + serverCpu + c.anvil + c.postgres;

/** Both sides on the chain as it is mining now; prints the rows, returns whether the request count held. */
async function compare(N: number, title: string) {
  console.log(title);
  const base = await sequential(N);
  const run = await worker(N);
  const cpu = ({ cpu: c, serverCpu }: { cpu: Cpu; serverCpu: number }) =>
    `CPU ms per mint: buyer ${(c.worker / N).toFixed(1)}, server ${(serverCpu / N).toFixed(1)}, anvil ${(c.anvil / N).toFixed(1)}, postgres ${(c.postgres / N).toFixed(1)}`;
  line('sequential baseline (pay, wait answer, next)', rate(N, base.ms));
  line('', cpu(base));
  line(`worker, ${getConfig().worker.batchSize} paid requests in flight`, rate(N, run.ms));
  line('', cpu(run));
  line('ratio worker / baseline', `${(base.ms / run.ms).toFixed(2)}×`);
  // Everything here shares the machine's cores: the worker run cannot beat the CPU it needs
  // per mint spread over all of them, however much it overlaps.
  const floorMs = cpuMs(run) / cores;
  line(
    `  CPU floor of the worker run on ${cores} cores`,
    `${(floorMs / 1000).toFixed(2)} s: at most ${(base.ms / floorMs).toFixed(2)}× the baseline here`,
  );
  const expected = run.mints + run.seen.unpaid + run.seen.waits;
  line(
    'requests the server saw for the task',
    `${run.seen.requests} = ${run.mints} paid mints + ${run.seen.unpaid} 402 probe(s) + ${run.seen.waits} waits asked for${run.seen.requests === expected ? '' : `  ✗ expected ${expected}`}`,
  );
  return run.seen.requests === expected;
}

const cores = availableParallelism();
const setup = `batch ${getConfig().worker.batchSize}, MINT_INTERVAL_MS=0, local x402 server (v2, upfront settlement, its own process, ${server.settlers.length} facilitator keys, one settlement at a time per key)`;
let ok = await compare(100, `bench:x402 — 100 mints, ${setup}, anvil mining each transaction on arrival`);
if (!process.argv.includes('--quick')) {
  // An endpoint on Base waits for blocks: its settle and its mint each take one. Same chain,
  // now mining a block every second (Base makes one every 2 s).
  await getPublicClient().request({ method: 'evm_setIntervalMining' as never, params: [1] as never });
  ok = (await compare(10, `\nbench:x402 — 10 mints, same server and worker, anvil mining a block every second`)) && ok;
}
await server.stop();
await stack.stop();
process.exit(ok ? 0 : 1);
