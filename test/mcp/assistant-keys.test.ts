import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../support/stack';
import { call, cookieFor } from '../support/routes';
import { user } from '../support/fixtures';

// Assistant keys without the web server: the keys routes as Next calls them, the token stored
// only hashed, authentication of live/revoked/expired keys, and the daily cap under parallel
// creations (real Postgres and anvil).

let stack: TestStack;
let routes: {
  keys: typeof import('@/app/api/assistant-keys/route');
  revoke: typeof import('@/app/api/assistant-keys/[keyId]/revoke/route');
};
let lib: {
  keys: typeof import('@/lib/assistant-keys/keys');
  auth: typeof import('@/lib/assistant-keys/authenticate');
  cap: typeof import('@/lib/assistant-keys/spend-cap');
  create: typeof import('@/lib/tasks/create-task');
  sql: typeof import('@/db/client').getSql;
};
const alice = user(6);
const bob = user(7);

beforeAll(async () => {
  stack = await startTestStack({ env: { LOG_LEVEL: 'error' } });
  routes = {
    keys: await import('@/app/api/assistant-keys/route'),
    revoke: await import('@/app/api/assistant-keys/[keyId]/revoke/route'),
  };
  lib = {
    keys: await import('@/lib/assistant-keys/keys'),
    auth: await import('@/lib/assistant-keys/authenticate'),
    cap: await import('@/lib/assistant-keys/spend-cap'),
    create: await import('@/lib/tasks/create-task'),
    sql: (await import('@/db/client')).getSql,
  };
});

afterAll(async () => {
  const { closeDb } = await import('@/db/client');
  await closeDb();
  await stack?.stop();
});

const valid = { name: 'Claude Desktop', scopes: ['read', 'create'], dailyCapUsdc: '12.5', expiresInDays: 7 };

describe('keys routes', () => {
  it('shows the token once and stores only its SHA-256', async () => {
    const cookie = cookieFor(alice.address);
    const created = await call(routes.keys.POST, '/api/assistant-keys', {}, { cookie, body: valid });
    expect(created.status).toBe(201);
    const { token, key } = created.body;
    expect(token).toMatch(/^amk_[A-Za-z0-9_-]{43}$/);
    expect(key).toMatchObject({
      name: 'Claude Desktop',
      scopes: ['read', 'create'],
      status: 'active',
      dailyCapUsdc: '12500000',
      prefix: token.slice(0, 10),
      lastUsedAt: null,
    });
    expect(new Date(key.expiresAt).getTime() - Date.now()).toBeGreaterThan(6.9 * 86_400_000);
    const rows = await lib.sql()`select * from assistant_keys where id = ${key.id}`;
    expect(JSON.stringify(rows)).not.toContain(token);
    expect(rows[0]!.token_hash).toMatch(/^[0-9a-f]{64}$/);

    const listed = await call(routes.keys.GET, '/api/assistant-keys', {}, { cookie });
    expect(listed.status).toBe(200);
    expect(listed.body.keys.map((k: { id: string }) => k.id)).toContain(key.id);
    expect(listed.text).not.toContain(token);
    expect(listed.text).not.toContain(rows[0]!.token_hash);
  });

  it('refuses bad input with 400 and nothing stored, and needs a session', async () => {
    const cookie = cookieFor(bob.address);
    const bad = [
      { ...valid, scopes: [] },
      { ...valid, scopes: ['read', 'admin'] },
      { ...valid, dailyCapUsdc: '-1' },
      { ...valid, dailyCapUsdc: '1.1234567' },
      { ...valid, name: '   ' },
      { ...valid, expiresInDays: 0 },
      { ...valid, expiresInDays: 400 },
    ];
    for (const body of bad) {
      const res = await call(routes.keys.POST, '/api/assistant-keys', {}, { cookie, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('bad_request:assistant_key');
    }
    expect((await call(routes.keys.GET, '/api/assistant-keys', {}, { cookie })).body.keys).toEqual([]);
    expect((await call(routes.keys.POST, '/api/assistant-keys', {}, { body: valid })).status).toBe(401);
    expect((await call(routes.keys.GET, '/api/assistant-keys', {})).status).toBe(401);
  });

  it("revokes the user's own key only; another user's answers 404", async () => {
    const { key, token } = await lib.keys.createAssistantKey({
      userAddress: alice.address,
      name: 'x',
      scopes: ['read'],
      dailyCapUsdc: 1n,
      expiresInDays: 1,
    });
    const path = `/api/assistant-keys/${key.id}/revoke`;
    const stranger = await call(
      routes.revoke.POST,
      path,
      { keyId: key.id },
      { cookie: cookieFor(bob.address), body: {} },
    );
    expect(stranger.status).toBe(404);
    await expect(lib.auth.authenticateAssistantKey(token)).resolves.toMatchObject({ keyId: key.id });
    const own = await call(routes.revoke.POST, path, { keyId: key.id }, { cookie: cookieFor(alice.address), body: {} });
    expect(own.status).toBe(200);
    expect(own.body.key.status).toBe('revoked');
    await expect(lib.auth.authenticateAssistantKey(token)).rejects.toMatchObject({
      code: 'unauthorized:assistant_key',
      message: expect.stringMatching(/revoked/),
    });
    expect(
      (await call(routes.revoke.POST, path, { keyId: 'nope' }, { cookie: cookieFor(alice.address), body: {} })).status,
    ).toBe(400);
  });
});

describe('authentication', () => {
  it('refuses unknown, malformed and expired keys', async () => {
    await expect(lib.auth.authenticateAssistantKey('amk_' + 'a'.repeat(43))).rejects.toMatchObject({
      message: 'Unknown assistant key.',
    });
    await expect(lib.auth.authenticateAssistantKey('hello')).rejects.toMatchObject({ status: 401 });
    const { key, token } = await lib.keys.createAssistantKey(
      { userAddress: alice.address, name: 'old', scopes: ['read'], dailyCapUsdc: 1n, expiresInDays: 1 },
      new Date(Date.now() - 2 * 86_400_000),
    );
    await expect(lib.auth.authenticateAssistantKey(token)).rejects.toMatchObject({
      message: expect.stringMatching(/expired/),
    });
    // An assistant retrying with a dead key is logged once a minute, not once a try.
    await expect(lib.auth.authenticateAssistantKey(token)).rejects.toMatchObject({ status: 401 });
    const uses = await lib.sql()`select action, outcome, error_code from assistant_key_uses where key_id = ${key.id}`;
    expect(uses).toEqual([{ action: 'authenticate', outcome: 'refused', error_code: 'expired' }]);
  });
});

describe('use log retention', () => {
  it('deletes uses older than 90 days and keeps the rest', async () => {
    const { key } = await lib.keys.createAssistantKey({
      userAddress: bob.address,
      name: 'old uses',
      scopes: ['read'],
      dailyCapUsdc: 1n,
      expiresInDays: 1,
    });
    await lib.sql()`
      insert into assistant_key_uses (key_id, action, outcome, created_at) values
        (${key.id}, 'list_tasks', 'ok', now() - interval '91 days'),
        (${key.id}, 'wallet', 'ok', now() - interval '89 days')`;
    const { sweepOldAssistantKeyUses } = await import('@/lib/assistant-keys/retention');
    expect(await sweepOldAssistantKeyUses(new Date(Date.now() + 7200_000))).toBeGreaterThanOrEqual(1);
    const left = await lib.sql()`select action from assistant_key_uses where key_id = ${key.id}`;
    expect(left.map((r) => r.action)).toEqual(['wallet']);
  });
});

describe('daily cap', () => {
  it('lets exactly as many parallel creations through as fit the cap', async () => {
    const { token } = await lib.keys.createAssistantKey({
      userAddress: alice.address,
      name: 'capped',
      scopes: ['create'],
      dailyCapUsdc: 600_000n, // 0.6 USDC: two tasks of 3 DMT mints at 0.1
      expiresInDays: 1,
    });
    const caller = await lib.auth.authenticateAssistantKey(token);
    const token0 = stack.deployment.tokens[0]!.address;
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, () =>
        lib.create.createMintTask({
          userAddress: caller.userAddress,
          tokenAddress: token0,
          quantity: 3,
          guard: lib.cap.dailyCapGuard(caller, 'create_mint_task'),
        }),
      ),
    );
    const created = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(created).toHaveLength(2);
    expect(refused.map((r) => r.reason.code)).toEqual(Array(4).fill('forbidden:daily_cap'));
    const [sum] = await lib.sql()`
      select sum(spend_usdc)::text as spent, count(task_id)::int as tasks from assistant_key_uses where key_id = ${caller.keyId}`;
    expect(sum).toEqual({ spent: '600000', tasks: 2 });
  });
});
