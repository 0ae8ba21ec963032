import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import { connect } from './client';

const migrationsFolder = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

/** Applies the committed drizzle-kit migrations; safe to run on every start. */
export async function migrateDatabase(url: string) {
  const { sql, db } = connect(url, 1);
  try {
    await migrate(db, { migrationsFolder });
  } finally {
    await sql.end({ timeout: 5 });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { getConfig } = await import('@/lib/config');
  const url = getConfig().databaseUrl;
  if (!url) {
    console.error('DATABASE_URL is not set');
    process.exit(1);
  }
  await migrateDatabase(url);
  console.log('migrations applied');
}
