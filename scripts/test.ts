// `npm test`: every suite — typecheck, format, imports, vitest (units + integration on real
// Postgres/anvil), the quick chaos run, Playwright e2e in Chromium — then one closing line
// `N passed, N failed` summing them all (`npm test -- chaos` runs one suite).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CHAOS_DIST_DIR } from './chaos/web';
import { buildIfStale } from './local/next-build';

const root = path.resolve(import.meta.dirname, '..');
const only = process.argv.slice(2);
const want = (suite: string) => only.length === 0 || only.includes(suite);
const totals = { passed: 0, failed: 0, skipped: 0 };
/** What failed, by name, repeated at the end: a long run's failures are otherwise pages up. */
const failures: string[] = [];

function run(command: string, args: string[]) {
  const started = Date.now();
  const result = spawnSync(command, args, {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  process.stdout.write(result.stdout ?? '');
  process.stderr.write(result.stderr ?? '');
  return {
    status: result.status ?? 1,
    stdout: result.stdout ?? '',
    seconds: ((Date.now() - started) / 1000).toFixed(0),
  };
}

type VitestReport = {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  testResults: {
    name: string;
    status: string;
    message: string;
    assertionResults: { fullName: string; status: string }[];
  }[];
};

/** Vitest's JSON report, or undefined when it is missing or cut short (a crashed run). */
function readVitestReport(file: string): VitestReport | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as VitestReport;
  } catch {
    return undefined;
  }
}

/** A suite that counts as one test: passed on exit 0. */
function tally(suite: string, status: number) {
  if (status === 0) return void totals.passed++;
  totals.failed++;
  failures.push(`${suite}: exit ${status}`);
}

const bin = (name: string) => path.join(root, 'node_modules', '.bin', name);

if (want('typecheck')) {
  console.log('\n== typecheck (tsc --noEmit)');
  const { status, seconds } = run(bin('tsc'), ['--noEmit', '-p', '.']);
  tally('typecheck', status);
  console.log(`typecheck: ${status === 0 ? 'ok' : 'FAILED'} (${seconds}s)`);
}

if (want('format')) {
  // One formatter (Prettier, .prettierrc.json), so style is a tool's habit rather than a review's.
  console.log('\n== format (prettier --check)');
  const { status, seconds } = run(bin('prettier'), ['--check', '--log-level', 'warn', '.']);
  tally('format', status);
  console.log(`format: ${status === 0 ? 'ok' : 'FAILED (npm run format fixes it)'} (${seconds}s)`);
}

if (want('imports')) {
  // The layering as a rule (.dependency-cruiser.cjs): lib never imports worker/ or app/, db never
  // imports lib/, no import cycle (type imports count), benchmarks take test/support only.
  console.log('\n== imports (dependency-cruiser)');
  const roots = ['app', 'components', 'lib', 'db', 'worker', 'scripts', 'bench', 'test', 'e2e', 'contracts'];
  const files = ['proxy.ts', 'instrumentation.ts'];
  const { status, seconds } = run(bin('depcruise'), [
    '--config',
    '.dependency-cruiser.cjs',
    '--output-type',
    'err',
    ...roots,
    ...files,
  ]);
  tally('imports', status);
  console.log(`imports: ${status === 0 ? 'ok' : 'FAILED'} (${seconds}s)`);
}

if (want('vitest')) {
  console.log('\n== vitest (unit + integration on real Postgres and anvil)');
  const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'agentmint-vitest-')), 'report.json');
  const { status, seconds } = run(bin('vitest'), [
    'run',
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${out}`,
  ]);
  const report = readVitestReport(out);
  if (report) {
    totals.passed += report.numPassedTests;
    totals.failed += report.numFailedTests;
    totals.skipped += report.numPendingTests + report.numTodoTests;
    for (const file of report.testResults)
      for (const test of file.assertionResults)
        if (test.status === 'failed') failures.push(`vitest ${path.relative(root, file.name)} > ${test.fullName}`);
    // A suite that failed to load has no failed tests but a non-zero exit.
    if (status !== 0 && report.numFailedTests === 0) {
      totals.failed++;
      for (const file of report.testResults)
        if (file.status === 'failed' && !file.assertionResults.some((t) => t.status === 'failed'))
          failures.push(`vitest ${path.relative(root, file.name)}: ${(file.message ?? '').split('\n')[0]}`);
    }
  } else {
    totals.failed++;
    failures.push(`vitest: no readable report (exit ${status})`);
  }
  console.log(`vitest: exit ${status} (${seconds}s)`);
}

if (want('chaos')) {
  // The bounded soak (scripts/chaos.ts) in its quick form: its own stack, ≤ 90 s; one suite. Its
  // web process serves the production build the e2e suite uses, built here first when stale.
  console.log('\n== chaos (npm run chaos -- --quick)');
  const built = await buildIfStale(root, { ...process.env, NEXT_DIST_DIR: CHAOS_DIST_DIR }, CHAOS_DIST_DIR).then(
    () => true,
    (error: unknown) => (console.error(`chaos: ${(error as Error).message}`), false),
  );
  const { status, seconds } = built
    ? run(process.execPath, ['--import', 'tsx', 'scripts/chaos.ts', '--quick'])
    : { status: 1, seconds: '0' };
  tally('chaos', status);
  console.log(`chaos: ${status === 0 ? 'ok' : 'FAILED'} (${seconds}s)`);
}

if (want('e2e')) {
  console.log('\n== e2e (Playwright, Chromium)');
  if (existsSync(path.join(root, 'e2e', 'run.ts'))) {
    const { status, stdout, seconds } = run(process.execPath, ['--import', 'tsx', 'e2e/run.ts']);
    const summary = [...stdout.matchAll(/^(\d+) passed, (\d+) failed/gm)].at(-1);
    if (summary) {
      totals.passed += Number(summary[1]);
      totals.failed += Number(summary[2]);
    }
    failures.push(...[...stdout.matchAll(/^failed: (.+)$/gm)].map((m) => `e2e ${m[1]}`));
    if (status !== 0 && (!summary || Number(summary[2]) === 0)) {
      totals.failed++;
      failures.push(`e2e: exit ${status}`);
    }
    console.log(`e2e: exit ${status} (${seconds}s)`);
  } else {
    console.log('e2e: no e2e/run.ts');
  }
}

if (failures.length) console.log(`\nfailed:\n${failures.map((f) => `  ${f}`).join('\n')}`);
console.log(`\n${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}`);
process.exit(totals.failed === 0 ? 0 : 1);
