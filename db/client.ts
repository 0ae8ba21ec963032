import type { ExtractTablesWithRelations } from 'drizzle-orm';
import type { PgDatabase } from 'drizzle-orm/pg-core';
import { drizzle, type PostgresJsQueryResultHKT } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import * as schema from './schema';
import { databaseSettings } from './settings';

export type Db = ReturnType<typeof createDb>;
export type Sql = postgres.Sql;

/** The pool or an open transaction: a caller holding a transaction passes it to stay on its connection. */
export type DbExecutor = PgDatabase<PostgresJsQueryResultHKT, typeof schema, ExtractTablesWithRelations<typeof schema>>;

function createDb(sql: Sql) {
  return drizzle(sql, { schema });
}

type Connection = { sql: Sql; db: Db };

// One pool per process; kept on globalThis so Next's dev reloads do not open a new pool each time.
const holder = globalThis as unknown as { __agentMintDb?: Connection };

export function connect(url: string, max = 10): Connection {
  const sql = postgres(url, { max, onnotice: () => {}, connection: { application_name: 'agent-mint' } });
  return { sql, db: createDb(sql) };
}

function connection(): Connection {
  if (!holder.__agentMintDb) {
    const { url, poolMax } = databaseSettings();
    if (!url) {
      throw new Error(
        'DATABASE_URL is not set, and no `npm start` is running with this DATA_DIR (it records its database in DATA_DIR/stack.json): start the stack with `npm start` in another terminal, or set DATABASE_URL',
      );
    }
    holder.__agentMintDb = connect(url, poolMax);
  }
  return holder.__agentMintDb;
}

export const getDb = (): Db => connection().db;
export const getSql = (): Sql => connection().sql;

export async function closeDb() {
  const current = holder.__agentMintDb;
  holder.__agentMintDb = undefined;
  await current?.sql.end({ timeout: 5 });
}
