import { closeDb } from '@/db/client';
import { getConfig, parseConfig } from '@/lib/config';
import { rotateAgentKeys } from '@/lib/wallets/key-rotation';

// `npm run keys:rotate`: re-encrypts every agent wallet key under a new agentEncryptionKey.
// Safe while the web app and workers run. Prints counts only, never key material.
async function main() {
  const draft = parseConfig(process.env);
  if (!draft.databaseUrl) {
    // No DATABASE_URL: the embedded Postgres `npm start` runs (it must be up).
    process.env.DATABASE_URL = `postgres://postgres:agentmint@127.0.0.1:${draft.pgPort}/agentmint`;
    console.log(`DATABASE_URL not set; using the embedded database of npm start on port ${draft.pgPort}`);
  }
  const { agentKeyFile } = getConfig();
  console.log(`Rotating the agent encryption key in ${agentKeyFile} …`);
  const report = await rotateAgentKeys({ keyFile: agentKeyFile });
  console.log(
    [
      `wallets:           ${report.wallets}`,
      `re-encrypted:      ${report.reencrypted}`,
      `already current:   ${report.alreadyCurrent}`,
      `unreadable (kept): ${report.unreadable}`,
      `old keys dropped:  ${report.droppedKeys}`,
      `old keys kept:     ${report.keptOldKeys}`,
    ].join('\n'),
  );
  if (report.unreadable > 0) {
    console.error('Some wallet keys could not be opened with any key in the file; their old keys were kept.');
    process.exitCode = 1;
  }
}

main()
  .catch((error: unknown) => {
    console.error(`keys:rotate failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  })
  .finally(() => closeDb());
