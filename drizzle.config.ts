import { defineConfig } from 'drizzle-kit';

// Only `npm run db:generate` uses this file: it diffs db/schema.ts against the committed
// snapshots and writes SQL to db/migrations. Applying them is db/migrate.ts.
export default defineConfig({
  dialect: 'postgresql',
  schema: './db/schema.ts',
  out: './db/migrations',
});
