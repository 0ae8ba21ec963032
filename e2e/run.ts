import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildIfStale } from '@/scripts/local/next-build';
import { freePort } from '@/scripts/local/ports';

// `npm run test:e2e [-- <playwright args>]`: builds the app into .next-e2e when sources
// changed, then runs Playwright (playwright.config.ts), whose webServer (e2e/server.ts)
// starts a private stack. Prints "N passed, N failed" and exits non-zero on any failure.

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const started = Date.now();

type Suite = {
  file?: string;
  specs?: { title: string; file: string; tests: { results: { status: string }[] }[] }[];
  suites?: Suite[];
};

function countResults(reportFile: string) {
  const counts = { passed: 0, failed: 0, skipped: 0, failures: [] as string[] };
  if (!existsSync(reportFile)) return counts;
  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as { suites: Suite[] };
  const walk = (suite: Suite) => {
    for (const spec of suite.specs ?? []) {
      for (const t of spec.tests) {
        const last = t.results.at(-1)?.status;
        if (last === 'passed') counts.passed++;
        else if (last === 'skipped' || last === undefined) counts.skipped++;
        else (counts.failed++, counts.failures.push(`${spec.file} > ${spec.title}`));
      }
    }
    suite.suites?.forEach(walk);
  };
  report.suites.forEach(walk);
  return counts;
}

async function main() {
  const distDir = '.next-e2e';
  // E2E_SKIP_BUILD=1 reuses the last .next-e2e build as is (iterating on specs only).
  if (process.env.E2E_DEV !== '1' && process.env.E2E_SKIP_BUILD !== '1')
    await buildIfStale(root, { ...process.env, NEXT_DIST_DIR: distDir }, distDir);

  const port = await freePort();
  const stateFile = path.join(os.tmpdir(), `agentmint-e2e-${process.pid}.json`);
  const reportFile = path.join(root, 'test-results', 'e2e-report.json');
  mkdirSync(path.dirname(reportFile), { recursive: true });
  rmSync(reportFile, { force: true });

  const cli = path.join(root, 'node_modules', 'playwright', 'cli.js');
  const child = spawn(process.execPath, [cli, 'test', '-c', 'playwright.config.ts', ...process.argv.slice(2)], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, E2E_PORT: String(port), E2E_STATE_FILE: stateFile, NEXT_DIST_DIR: distDir },
  });
  const code: number = await new Promise((resolve) => child.once('exit', (c) => resolve(c ?? 1)));
  rmSync(stateFile, { force: true });

  const { passed, failed, skipped, failures } = countResults(reportFile);
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  for (const failure of failures) console.log(`failed: ${failure}`);
  console.log(
    `\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''} (${seconds} s; screenshots in test-results/screenshots)`,
  );
  process.exit(code !== 0 || failed > 0 ? 1 : 0);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
