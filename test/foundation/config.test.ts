import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '@/lib/config';
import { ensureKeyFile, KeyFileError, readKeyFile } from '@/lib/key-file';

const invalid = (env: Record<string, string>) => {
  try {
    parseConfig(env);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
};

describe('parseConfig', () => {
  it('has the documented defaults', () => {
    const config = parseConfig({});
    expect(config.chain).toBe('local');
    expect(config.rpcUrl).toBe('http://127.0.0.1:8545');
    expect(config.databaseUrl).toBeUndefined();
    expect(config.dataDir).toBe(path.resolve('.data'));
    expect(config.deploymentFile).toBe(path.resolve('.data', 'deployment.json'));
    expect(config.agentKeyFile).toBe(path.join(os.homedir(), '.config', 'agent-mint', 'private.key'));
    expect([config.port, config.anvilPort, config.pgPort]).toEqual([3000, 8545, 54329]);
    expect(config.worker).toMatchObject({
      batchSize: 10,
      mintIntervalMs: 5000,
      maxRetries: 5,
      paymentTimeoutSeconds: 600,
      agentMinEth: '0.0001',
      agentTopupEth: '0.01',
      autoRefund: true,
    });
    expect(config.secureCookies).toBe(false);
    expect(config.adminAddresses).toEqual([]);
    // Locally the origin is what `npm start` serves; an https origin always gets Secure cookies.
    expect(config.publicUrl).toBe('http://localhost:3000');
    expect(parseConfig({ PORT: '4000' }).publicUrl).toBe('http://localhost:4000');
    expect(parseConfig({ PUBLIC_URL: 'https://mint.example' }).secureCookies).toBe(true);
  });

  describe('production settings (outside CHAIN=local)', () => {
    const base = { CHAIN: 'base', PUBLIC_URL: 'https://mint.example', METRICS_TOKEN: 'scrape-token' };
    const without = (name: string) => Object.fromEntries(Object.entries(base).filter(([k]) => k !== name));

    it.each(['PUBLIC_URL', 'METRICS_TOKEN'])('refuses to start without %s, naming it and why', (name) => {
      const message = invalid(without(name));
      expect(message).toContain(`${name}: required outside CHAIN=local`);
      expect(parseConfig(base).chain).toBe('base');
      // The local chain keeps today's defaults: the origin npm start serves, metrics open to localhost users.
      expect(() => parseConfig({ ...without(name), CHAIN: 'local' })).not.toThrow();
    });

    it('refuses WEBHOOK_URL without WEBHOOK_SECRET on any chain (webhooks are never unsigned)', () => {
      for (const env of [{}, base]) {
        const message = invalid({ ...env, WEBHOOK_URL: 'https://hooks.example/agentmint' });
        expect(message).toContain('WEBHOOK_SECRET: required when WEBHOOK_URL is set');
      }
      expect(parseConfig({ WEBHOOK_URL: 'https://hooks.example/x', WEBHOOK_SECRET: 's' }).webhook).toEqual({
        url: 'https://hooks.example/x',
        secret: 's',
      });
    });

    it.each(['https://mint.example/app', 'ftp://mint.example', 'https://mint.example/?x=1'])(
      'refuses PUBLIC_URL=%s (an http(s) origin only)',
      (value) => {
        expect(invalid({ PUBLIC_URL: value })).toContain('PUBLIC_URL:');
      },
    );
  });

  it('follows the variables it is given', () => {
    const config = parseConfig({
      CHAIN: 'base-sepolia',
      DATABASE_URL: 'postgresql://u:p@db:5432/x',
      MINT_BATCH_SIZE: '25',
      ANVIL_PORT: '9999',
      ADMIN_ADDRESSES: ' 0xAbC0000000000000000000000000000000000001 , ',
      NODE_ENV: 'production',
      DATA_DIR: '/tmp/agentmint-data',
      PUBLIC_URL: 'https://mint.example/',
      METRICS_TOKEN: 'scrape-token',
    });
    expect(config.publicUrl).toBe('https://mint.example');
    expect(config.rpcUrl).toBe('https://sepolia.base.org');
    expect(config.databaseUrl).toBe('postgresql://u:p@db:5432/x');
    expect(config.worker.batchSize).toBe(25);
    expect(config.adminAddresses).toEqual(['0xabc0000000000000000000000000000000000001']);
    expect(config.secureCookies).toBe(true);
    expect(config.deploymentFile).toBe('/tmp/agentmint-data/deployment.json');
    expect(parseConfig({ ANVIL_PORT: '9999' }).rpcUrl).toBe('http://127.0.0.1:9999');
    expect(parseConfig({ RPC_URL: 'http://node:8545', ANVIL_PORT: '9999' }).rpcUrl).toBe('http://node:8545');
  });

  it('treats an empty variable as unset', () => {
    expect(parseConfig({ MINT_BATCH_SIZE: '', CHAIN: '' }).worker.batchSize).toBe(10);
  });

  it.each([
    ['MINT_BATCH_SIZE', 'abc'],
    ['MINT_BATCH_SIZE', '0'],
    ['MINT_BATCH_SIZE', '2.5'],
    ['CHAIN', 'mainnet'],
    ['USDC_ADDRESS', '0x1234'],
    ['PORT', '-1'],
    ['AGENT_MIN_ETH', '1e18'],
    ['AGENT_TOPUP_ETH', '-0.01'],
    ['AUTO_REFUND', 'maybe'],
  ])('refuses %s=%s with a message naming it', (name, value) => {
    const message = invalid({ [name]: value });
    expect(message).toMatch(/^Invalid configuration:/);
    expect(message).toContain(`${name}:`);
    expect(message).toContain(JSON.stringify(value));
  });

  it.each([
    ['DATABASE_URL', 'mysql://root:hunter2pass@localhost/agentmint'],
    ['RPC_URL', 'not a url with key-abc123'],
    ['SESSION_SECRET', 'short-secret-xyz'],
    ['WEBHOOK_URL', 'ftp//user:pw-secret@hook'],
  ])('refuses %s naming it, without echoing a value that may hold a secret', (name, value) => {
    const message = invalid({ [name]: value });
    expect(message).toContain(`${name}:`);
    expect(message).not.toContain(value);
    expect(message).not.toMatch(/hunter2|abc123|xyz|pw-secret/);
  });

  it('parses the x402 outbound settings', () => {
    expect(parseConfig({}).x402).toEqual({
      allowedHosts: [],
      maxPricePerMint: '1',
      requestTimeoutMs: 10_000,
      deliveryTimeoutMs: 120_000,
      demoUrl: undefined,
      mintPort: 4021,
      maxAuthorizationSeconds: 180,
      maxRateLimitWaitMs: 120_000,
      stallTimeoutMs: 300_000,
      maxRefusals: 3,
      maxCancelsPerTask: 3,
      idleSocketMs: 15_000,
      mintsPerPayment: 10,
    });
    expect(parseConfig({ X402_MINTS_PER_PAYMENT: '25', MINT_BATCH_SIZE: '5' }).x402.mintsPerPayment).toBe(5);
    expect(() => parseConfig({ X402_MINTS_PER_PAYMENT: '0' })).toThrow();
    const config = parseConfig({
      X402_ALLOWED_HOSTS: ' 127.0.0.1:4021, Mint.Local ,',
      X402_MAX_PRICE_PER_MINT: '0.25',
      X402_REQUEST_TIMEOUT_MS: '1500',
    });
    expect(config.x402).toMatchObject({
      allowedHosts: ['127.0.0.1:4021', 'mint.local'],
      maxPricePerMint: '0.25',
      requestTimeoutMs: 1500,
      deliveryTimeoutMs: 120_000,
    });
    expect(invalid({ X402_MAX_PRICE_PER_MINT: '1.0000001' })).toContain('X402_MAX_PRICE_PER_MINT');
    // An authorization must live long enough to be settled; refusals and 429 waits need a floor.
    expect(invalid({ X402_MAX_AUTHORIZATION_SECONDS: '5' })).toContain('X402_MAX_AUTHORIZATION_SECONDS');
    expect(invalid({ X402_MAX_REFUSALS: '0' })).toContain('X402_MAX_REFUSALS');
  });

  it('names every bad variable at once', () => {
    const message = invalid({ CHAIN: 'mainnet', MINT_BATCH_SIZE: 'abc', LOG_LEVEL: 'loud' });
    for (const name of ['CHAIN', 'MINT_BATCH_SIZE', 'LOG_LEVEL']) expect(message).toContain(`${name}:`);
  });
});

describe('key file', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agentmint-keys-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const secretHex = 'ab'.repeat(32);
  const operatorKey = `0x${'cd'.repeat(32)}`;

  const write = (name: string, content: string, mode = 0o600) => {
    const file = path.join(dir, name);
    writeFileSync(file, content);
    chmodSync(file, mode);
    return file;
  };
  const refusal = (file: string) => {
    try {
      readKeyFile(file);
    } catch (error) {
      expect(error).toBeInstanceOf(KeyFileError);
      return (error as Error).message;
    }
    throw new Error(`expected ${file} to be refused`);
  };

  it('reads a valid mode-0600 file and fills defaults', () => {
    const file = write('ok.key', JSON.stringify({ agentEncryptionKey: secretHex, operatorPrivateKey: operatorKey }));
    expect(readKeyFile(file)).toEqual({
      agentEncryptionKey: secretHex,
      operatorPrivateKey: operatorKey,
      previousAgentEncryptionKeys: [],
      mintSignerKeys: [],
    });
  });

  it.each([0o644, 0o640, 0o604])('refuses mode %o, naming AGENT_KEY_FILE and the chmod that fixes it', (mode) => {
    const file = write(
      'open.key',
      JSON.stringify({ agentEncryptionKey: secretHex, operatorPrivateKey: operatorKey }),
      mode,
    );
    const message = refusal(file);
    expect(message).toContain('AGENT_KEY_FILE');
    expect(message).toContain(`chmod 600 ${file}`);
    expect(message).not.toContain(secretHex);
  });

  it('refuses a missing file', () => {
    expect(refusal(path.join(dir, 'nope.key'))).toMatch(/AGENT_KEY_FILE .* does not exist/);
  });

  it('refuses invalid JSON without echoing its content', () => {
    const message = refusal(
      write('broken.key', `{"agentEncryptionKey": "${secretHex}", "operatorPrivateKey": "${operatorKey}"`),
    );
    expect(message).toMatch(/AGENT_KEY_FILE .* not valid JSON/);
    expect(message).not.toContain(secretHex);
    expect(message).not.toContain(operatorKey.slice(2));
  });

  it('names a missing or malformed field without echoing any secret', () => {
    const missing = refusal(write('missing.key', JSON.stringify({ agentEncryptionKey: secretHex })));
    expect(missing).toContain('operatorPrivateKey');
    expect(missing).not.toContain(secretHex);

    const badOperator = 'ef'.repeat(32); // no 0x prefix: refused, and never shown
    const malformed = refusal(
      write(
        'malformed.key',
        JSON.stringify({
          agentEncryptionKey: secretHex,
          operatorPrivateKey: badOperator,
          mintSignerKeys: ['0xnope-secret'],
        }),
      ),
    );
    expect(malformed).toContain('operatorPrivateKey');
    expect(malformed).toContain('mintSignerKeys.0');
    for (const secret of [secretHex, badOperator, 'nope-secret']) expect(malformed).not.toContain(secret);
  });

  it('ensureKeyFile creates a mode-0600 file once, in a new directory, and keeps it afterwards', () => {
    const file = path.join(dir, 'nested', 'deeper', 'private.key');
    expect(ensureKeyFile(file)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const keys = readKeyFile(file);
    expect(keys.agentEncryptionKey).toMatch(/^[0-9a-f]{64}$/);
    expect(keys.operatorPrivateKey).toMatch(/^0x[0-9a-f]{64}$/);
    expect(keys.sessionSecret!.length).toBeGreaterThanOrEqual(32);
    const before = readFileSync(file, 'utf8');
    expect(ensureKeyFile(file)).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe(before);
    expect(
      ensureKeyFile(path.join(dir, 'other.key')) && readKeyFile(path.join(dir, 'other.key')).agentEncryptionKey,
    ).not.toBe(keys.agentEncryptionKey);
  });
});
