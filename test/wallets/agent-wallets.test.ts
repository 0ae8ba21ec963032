import { privateKeyToAccount, generatePrivateKey } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getSql } from '@/db/client';
import { getWalletByUser } from '@/db/wallets';
import { getOrCreateAgentWallet, unlockAgentAccount } from '@/lib/wallets/agent-wallets';
import { startTestStack, type TestStack } from '../support/stack';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ chain: false });
});
afterAll(async () => stack?.stop());

describe('agent wallets', () => {
  it('twenty concurrent first requests for one user create exactly one wallet', async () => {
    const userAddress = privateKeyToAccount(generatePrivateKey()).address;
    const wallets = await Promise.all(Array.from({ length: 20 }, () => getOrCreateAgentWallet(userAddress)));
    expect(new Set(wallets.map((w) => w.id)).size).toBe(1);
    expect(new Set(wallets.map((w) => w.agentAddress)).size).toBe(1);
    const rows = await getSql()`select id from ai_agent_wallets where user_address = ${userAddress.toLowerCase()}`;
    expect(rows).toHaveLength(1);
    // Checksummed or not, it is the same user.
    expect((await getOrCreateAgentWallet(userAddress.toLowerCase())).id).toBe(wallets[0]!.id);
  });

  it('stores the key only encrypted, and unlocks to the wallet address', async () => {
    const userAddress = privateKeyToAccount(generatePrivateKey()).address;
    const wallet = await getOrCreateAgentWallet(userAddress);
    const account = unlockAgentAccount(wallet);
    expect(account.address.toLowerCase()).toBe(wallet.agentAddress);
    expect(wallet.agentAddress).not.toBe(userAddress.toLowerCase());

    // Recover the key the vault sealed and look for it, in any encoding, in every column of every row.
    const { getVault } = await import('@/lib/wallets/agent-wallets');
    const privateKey = getVault().decrypt(wallet.encryptedPrivateKey, wallet.agentAddress);
    const bare = privateKey.slice(2);
    const dump = JSON.stringify(await getSql()`select * from ai_agent_wallets`).toLowerCase();
    expect(dump).not.toContain(bare);
    expect(dump).not.toContain(Buffer.from(bare, 'hex').toString('base64url').toLowerCase());
    expect(dump).not.toContain(Buffer.from(bare, 'hex').toString('base64').toLowerCase());
    expect(dump).not.toContain(stack.keys.agentEncryptionKey.toLowerCase());
  });

  it('an envelope copied onto another wallet row does not unlock', async () => {
    const a = await getOrCreateAgentWallet(privateKeyToAccount(generatePrivateKey()).address);
    const b = await getOrCreateAgentWallet(privateKeyToAccount(generatePrivateKey()).address);
    expect(() => unlockAgentAccount({ ...b, encryptedPrivateKey: a.encryptedPrivateKey })).toThrow(/failed authentication/);
    expect((await getWalletByUser({ userAddress: b.userAddress }))?.encryptedPrivateKey).toBe(b.encryptedPrivateKey);
  });
});
