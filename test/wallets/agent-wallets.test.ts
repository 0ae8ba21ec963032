import { privateKeyToAccount, generatePrivateKey } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { getSql } from '@/db/client';
import { getWalletByUser } from '@/db/wallets';
import { bindingOf, getOrCreateAgentWallet, unlockAgentAccount } from '@/lib/wallets/agent-wallets';
import { upgradeLegacyEnvelopes } from '@/lib/wallets/key-rotation';
import { sealLegacyEnvelope } from '../support/legacy-envelope';
import { useTestStack } from '../support/use-test-stack';

const stack = useTestStack({ chain: false });

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
    const privateKey = getVault().decrypt(wallet.encryptedPrivateKey, bindingOf(wallet));
    const bare = privateKey.slice(2);
    const dump = JSON.stringify(await getSql()`select * from ai_agent_wallets`).toLowerCase();
    expect(dump).not.toContain(bare);
    expect(dump).not.toContain(Buffer.from(bare, 'hex').toString('base64url').toLowerCase());
    expect(dump).not.toContain(Buffer.from(bare, 'hex').toString('base64').toLowerCase());
    expect(dump).not.toContain(stack.keys.agentEncryptionKey.toLowerCase());
  });

  it('an envelope copied onto another wallet row does not unlock', async () => {
    const firstWallet = await getOrCreateAgentWallet(privateKeyToAccount(generatePrivateKey()).address);
    const secondWallet = await getOrCreateAgentWallet(privateKeyToAccount(generatePrivateKey()).address);
    expect(() => unlockAgentAccount({ ...secondWallet, encryptedPrivateKey: firstWallet.encryptedPrivateKey })).toThrow(
      /failed authentication/,
    );
    expect((await getWalletByUser({ userAddress: secondWallet.userAddress }))?.encryptedPrivateKey).toBe(
      secondWallet.encryptedPrivateKey,
    );
  });

  /** Swaps two wallets' owners in SQL, as someone with write access to the database could. */
  async function swapOwners(a: { id: string; userAddress: string }, b: { id: string; userAddress: string }) {
    await getSql().begin(async (tx) => {
      await tx`update ai_agent_wallets set user_address = 'swap' where id = ${a.id}`;
      await tx`update ai_agent_wallets set user_address = ${a.userAddress} where id = ${b.id}`;
      await tx`update ai_agent_wallets set user_address = ${b.userAddress} where id = ${a.id}`;
    });
    return [
      (await getWalletByUser({ userAddress: a.userAddress }))!,
      (await getWalletByUser({ userAddress: b.userAddress }))!,
    ] as const;
  }

  it('wallet rows whose owners are swapped in the database do not unlock (owner bound to the key)', async () => {
    const firstWallet = await getOrCreateAgentWallet(privateKeyToAccount(generatePrivateKey()).address);
    const secondWallet = await getOrCreateAgentWallet(privateKeyToAccount(generatePrivateKey()).address);
    const [aNow, bNow] = await swapOwners(firstWallet, secondWallet);
    // a's user now "owns" b's agent wallet and its key, and the other way round.
    expect(aNow.agentAddress).toBe(secondWallet.agentAddress);
    expect(() => unlockAgentAccount(aNow)).toThrow(/failed authentication/);
    expect(() => unlockAgentAccount(bNow)).toThrow(/failed authentication/);
    await swapOwners(
      { id: firstWallet.id, userAddress: secondWallet.userAddress },
      { id: secondWallet.id, userAddress: firstWallet.userAddress },
    );
    expect(
      unlockAgentAccount((await getWalletByUser({ userAddress: firstWallet.userAddress }))!).address.toLowerCase(),
    ).toBe(firstWallet.agentAddress);
  });

  it('v1 rows (agent address only) are upgraded once, bound to their owner; afterwards neither a swap nor an old v1 envelope unlocks', async () => {
    const legacyRow = async () => {
      const user = privateKeyToAccount(generatePrivateKey()).address.toLowerCase();
      const key = generatePrivateKey();
      const agent = privateKeyToAccount(key).address.toLowerCase();
      const envelope = sealLegacyEnvelope(stack.keys.agentEncryptionKey, key, agent);
      await getSql()`insert into ai_agent_wallets (user_address, agent_address, encrypted_private_key) values (${user}, ${agent}, ${envelope})`;
      return { ...(await getWalletByUser({ userAddress: user }))!, envelope };
    };
    const firstWallet = await legacyRow();
    const secondWallet = await legacyRow();
    expect(() => unlockAgentAccount(firstWallet)).toThrow(/v1 envelope/);

    const { upgraded, unreadable } = await upgradeLegacyEnvelopes();
    expect(upgraded).toBeGreaterThanOrEqual(2);
    expect(unreadable).toBe(0);
    const aUp = (await getWalletByUser({ userAddress: firstWallet.userAddress }))!;
    expect(aUp.encryptedPrivateKey).toMatch(/^v2\./);
    expect(unlockAgentAccount(aUp).address.toLowerCase()).toBe(firstWallet.agentAddress);
    expect((await upgradeLegacyEnvelopes()).upgraded).toBe(0);

    const [aSwapped, bSwapped] = await swapOwners(firstWallet, secondWallet);
    expect(() => unlockAgentAccount(aSwapped)).toThrow(/failed authentication/);
    expect(() => unlockAgentAccount(bSwapped)).toThrow(/failed authentication/);
    // b's pre-upgrade v1 envelope, restored (say from a backup) into the row a's user now holds: refused.
    await getSql()`update ai_agent_wallets set encrypted_private_key = ${secondWallet.envelope} where id = ${secondWallet.id}`;
    expect(() => unlockAgentAccount({ ...aSwapped, encryptedPrivateKey: secondWallet.envelope })).toThrow(
      /v1 envelope/,
    );
  });
});
