// `npm run db:migrate`: applies the committed migrations to the configured database.
import { migrateDatabase } from '@/db/migrate';
import { getConfig } from '@/lib/config';

const url = getConfig().databaseUrl;
if (!url) {
  console.error('DATABASE_URL is not set');
  process.exit(1);
}
await migrateDatabase(url);
console.log('migrations applied');
