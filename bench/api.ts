// `npm run bench:api`: the user-facing read routes under load against `next start`, each as a
// ratio to a trivial handler of the same app in the same run (target ≥ 0.5), plus the chat
// round trip with the offline model. Everything it starts (Postgres, anvil, Next) it stops.
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { transitionTask } from '@/db/tasks';
import { startSession } from '@/lib/auth/session';
import { buildIfStale, nextBin } from '@/scripts/local/next-build';
import { freePort, waitFor } from '@/scripts/local/ports';
import { createPendingTask, user } from '@/test/support/fixtures';
import { startTestStack, type TestStack } from '@/test/support/stack';

type CannonResult = {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
};
type Cannon = (opts: Record<string, unknown>, cb: (err: Error | null, result: CannonResult) => void) => unknown;
const autocannon = createRequire(import.meta.url)('autocannon') as Cannon;

// Flags for a quick plumbing check: --duration=<s>, --dist=<dir> (an existing build), --no-build.
const flag = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const root = path.resolve(import.meta.dirname, '..');
const DIST = flag('dist') ?? '.next-bench';
const SKIP_BUILD = process.argv.includes('--no-build');
const CONNECTIONS = 50;
const DURATION_S = Number(flag('duration') ?? 10);
const CHAT_REQUESTS = 50;
const ROUNDS = Number(flag('rounds') ?? 2);

let stack: TestStack | undefined;
let web: ChildProcess | undefined;

const say = (line: string) => console.log(`[bench:api] ${line}`);

function cannon(url: string, headers: Record<string, string>, duration = DURATION_S, connections = CONNECTIONS) {
  return new Promise<CannonResult>((resolve, reject) =>
    autocannon({ url, headers, connections, duration }, (err, result) => (err ? reject(err) : resolve(result))),
  );
}

async function startWeb(env: Record<string, string>): Promise<string> {
  const port = await freePort();
  // Own process group, so stopping it also stops anything `next start` forked.
  web = spawn(process.execPath, [nextBin(root), 'start', '-p', String(port), '-H', '127.0.0.1'], {
    cwd: root,
    // An empty OPENAI_API_KEY counts as unset: the chat figure is the built-in offline model's.
    env: {
      ...process.env,
      ...env,
      NODE_ENV: 'production',
      NEXT_DIST_DIR: DIST,
      NEXT_TELEMETRY_DISABLED: '1',
      PORT: String(port),
      OPENAI_API_KEY: '',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
    detached: true,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${url}/api/ping`)).ok, {
    timeoutMs: 60_000,
    intervalMs: 250,
    what: 'next start',
  });
  return url;
}

async function stopAll() {
  if (web?.pid && web.exitCode === null) {
    try {
      process.kill(-web.pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
    await new Promise((r) => setTimeout(r, 500));
    try {
      process.kill(-web.pid, 'SIGKILL');
    } catch {
      /* exited */
    }
  }
  web = undefined;
  await stack?.stop().catch(() => {});
  stack = undefined;
}

async function chatRoundTrip(url: string, cookie: string, userAddress: string) {
  const post = () =>
    fetch(`${url}/api/ai-agent/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie },
      body: JSON.stringify({ userAddress, message: 'show my tasks' }),
    });
  const first = await post();
  await first.text();
  if (!first.ok) return { skipped: `POST /api/ai-agent/chat answered ${first.status}` };
  const times: number[] = [];
  for (let i = 0; i < CHAT_REQUESTS; i++) {
    const started = performance.now();
    const res = await post();
    await res.text();
    if (!res.ok) return { skipped: `POST /api/ai-agent/chat answered ${res.status} on request ${i + 1}` };
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return {
    p50: times[Math.floor(times.length / 2)]!,
    p99: times[Math.min(times.length - 1, Math.floor(times.length * 0.99))]!,
  };
}

async function main() {
  if (!SKIP_BUILD) {
    say(`building the app into ${DIST} if stale…`);
    await buildIfStale(root, { ...process.env, NEXT_DIST_DIR: DIST }, DIST);
  }
  say('starting Postgres + anvil + contracts…');
  // The chat limiter would stop the 50 sequential chat requests; this run measures speed, not limits.
  stack = await startTestStack({ env: { CHAT_RATE_LIMIT_PER_MINUTE: '100000', LOG_LEVEL: 'error' } });

  const owner = user(1).address;
  const token = stack.deployment.tokens[0]!.address;
  const tasks = [];
  for (let i = 0; i < 30; i++) tasks.push(await createPendingTask({ userAddress: owner, token, quantity: 1 + i }));
  for (const t of tasks.slice(0, 10)) await transitionTask({ id: t.id, from: 'pending_payment', to: 'funded' });
  const cookie = (await startSession({ address: owner, chainId: stack.deployment.chainId })).setCookie.split(';')[0]!;
  const headers = { cookie };

  say('starting next start…');
  const url = await startWeb(stack.env);
  const routes = [
    { name: 'GET /api/ping (trivial)', url: `${url}/api/ping` },
    { name: 'GET /api/ai-agent/task/:id', url: `${url}/api/ai-agent/task/${tasks[20]!.id}` },
    { name: 'GET /api/ai-agent/tasks/:user', url: `${url}/api/ai-agent/tasks/${owner}?limit=10` },
  ];
  for (const r of routes) {
    const check = await fetch(r.url, { headers });
    if (!check.ok) throw new Error(`${r.name} answered ${check.status}: ${(await check.text()).slice(0, 200)}`);
    await cannon(r.url, headers, 2, 10); // warm-up: JIT, route module load, pool connections
  }

  // Rounds alternate the routes, and each route keeps its best round: other work on a shared
  // machine then skews the trivial route and the real ones alike instead of whichever ran last.
  const results = routes.map((r) => ({ ...r, rps: 0, p50: 0, p99: 0 }));
  for (let round = 1; round <= ROUNDS; round++) {
    for (const r of results) {
      say(`round ${round}/${ROUNDS} ${r.name}: ${CONNECTIONS} connections for ${DURATION_S} s…`);
      const result = await cannon(r.url, headers);
      if (result.non2xx || result.errors) say(`  warning: ${result.non2xx} non-2xx, ${result.errors} errors`);
      if (result.requests.average > r.rps)
        Object.assign(r, { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 });
    }
  }
  const chat = await chatRoundTrip(url, cookie, owner);

  const base = results[0]!;
  console.log(
    '\nroute                              req/s     p50 ms   p99 ms   req/s ratio   p99 ratio (trivial/route)',
  );
  for (const r of results) {
    const ratio = (r.rps / base.rps).toFixed(2);
    const p99Ratio = (base.p99 / Math.max(r.p99, 0.001)).toFixed(2);
    console.log(
      `${r.name.padEnd(34)} ${r.rps.toFixed(0).padStart(6)} ${String(r.p50).padStart(9)} ${String(r.p99).padStart(8)} ${ratio.padStart(12)} ${p99Ratio.padStart(11)}`,
    );
  }
  if ('skipped' in chat) console.log(`\nchat round trip: skipped (${chat.skipped})`);
  else
    console.log(
      `\nchat round trip (offline model, JSON form, ${CHAT_REQUESTS} sequential): p50 ${chat.p50.toFixed(1)} ms, p99 ${chat.p99.toFixed(1)} ms`,
    );
  console.log(
    `target: each ratio ≥ 0.5 (${CONNECTIONS} connections, ${DURATION_S} s, best of ${ROUNDS} alternating rounds, loopback, 2-core machine shared with the bench client)`,
  );
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void stopAll().then(() => process.exit(130)));
}

main()
  .then(stopAll)
  .then(() => process.exit(0))
  .catch(async (error) => {
    console.error(`[bench:api] failed: ${error instanceof Error ? error.message : String(error)}`);
    await stopAll();
    process.exit(1);
  });
