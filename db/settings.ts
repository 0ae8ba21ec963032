// What the data layer needs from the process's configuration. db/ imports nothing from lib/, so
// lib/config.ts provides these when it loads (every process that queries loads it); the getter
// is called lazily, at the first query, so tests that set process.env first still take effect.

export type DatabaseSettings = {
  url: string | undefined;
  poolMax: number;
  /** Write a webhook outbox row when a task reaches a status with an event (WEBHOOK_URL set). */
  taskWebhooks: boolean;
};

const holder = globalThis as unknown as { __agentMintDbSettings?: () => DatabaseSettings };

export function provideDatabaseSettings(get: () => DatabaseSettings): void {
  holder.__agentMintDbSettings = get;
}

export function databaseSettings(): DatabaseSettings {
  const get = holder.__agentMintDbSettings;
  if (!get) throw new Error('database settings were never provided: import @/lib/config before querying');
  return get();
}
