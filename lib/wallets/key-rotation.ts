import { randomBytes } from 'node:crypto';
import { listWallets, updateWalletEnvelope } from '@/db/wallets';
import type { AgentWallet } from '@/db/schema';
import { readKeyFile, writeKeyFile } from '../key-file';
import { bindingOf, getVault } from './agent-wallets';
import { AgentKeyVault, keyIdOf, VaultError } from './key-vault';

export type RotationReport = {
  wallets: number;
  reencrypted: number;
  alreadyCurrent: number;
  /** Rows whose key could not be opened with any key in the file; left as they were. */
  unreadable: number;
  droppedKeys: number;
  keptOldKeys: number;
};

/**
 * Re-encrypts every agent wallet key under a fresh encryption key without a moment where a
 * reader cannot open a row: (1) the new key becomes current and the old one moves to
 * `previousAgentEncryptionKeys` (atomic file write; vaults reload on an unknown key id),
 * (2) each row is re-sealed with an UPDATE guarded on its old envelope, (3) after a grace
 * period a second pass catches wallets another process created with a key it had cached,
 * (4) old keys that no row uses any more are removed from the file.
 */
export async function rotateAgentKeys({
  keyFile,
  graceMs = 1000,
}: {
  keyFile: string;
  graceMs?: number;
}): Promise<RotationReport> {
  const old = readKeyFile(keyFile);
  const previous = [old.agentEncryptionKey, ...old.previousAgentEncryptionKeys].filter(
    (k, i, all) => all.indexOf(k) === i,
  );
  writeKeyFile(keyFile, {
    ...old,
    agentEncryptionKey: randomBytes(32).toString('hex'),
    previousAgentEncryptionKeys: previous,
  });

  const vault = new AgentKeyVault(readKeyFile(keyFile), () => readKeyFile(keyFile));
  const report: RotationReport = {
    wallets: 0,
    reencrypted: 0,
    alreadyCurrent: 0,
    unreadable: 0,
    droppedKeys: 0,
    keptOldKeys: 0,
  };
  await reencryptAll(vault, report, true);
  if (graceMs > 0) await new Promise((r) => setTimeout(r, graceMs));
  await reencryptAll(vault, report, false);

  const rows = await listWallets();
  report.wallets = rows.length;
  const inUse = new Set(rows.map((w) => w.encryptedPrivateKey.split('.')[1]));
  const current = readKeyFile(keyFile);
  const kept = current.previousAgentEncryptionKeys.filter((k) => inUse.has(keyIdOf(k)));
  writeKeyFile(keyFile, { ...current, previousAgentEncryptionKeys: kept });
  report.droppedKeys = current.previousAgentEncryptionKeys.length - kept.length;
  report.keptOldKeys = kept.length;
  return report;
}

async function reencryptAll(vault: AgentKeyVault, report: RotationReport, first: boolean) {
  const wallets = await listWallets();
  for (const wallet of wallets) {
    if (!vault.isStale(wallet.encryptedPrivateKey)) {
      if (first) report.alreadyCurrent++;
      continue;
    }
    const outcome = await reseal(vault, wallet);
    if (outcome === 'unreadable' && first) report.unreadable++;
    if (outcome === 'resealed') report.reencrypted++;
  }
}

/** Re-seals one row under the current key as v2 (bound to the owner the row names now). */
async function reseal(vault: AgentKeyVault, wallet: AgentWallet): Promise<'resealed' | 'unreadable' | 'raced'> {
  let privateKey;
  try {
    privateKey = vault.decrypt(wallet.encryptedPrivateKey, bindingOf(wallet), { allowLegacy: true });
  } catch (error) {
    if (!(error instanceof VaultError)) throw error;
    return 'unreadable';
  }
  const sealed = vault.encrypt(privateKey, bindingOf(wallet));
  // A lost guard means another rotation re-sealed the row already: its envelope is newer.
  return (await updateWalletEnvelope({ id: wallet.id, from: wallet.encryptedPrivateKey, to: sealed }))
    ? 'resealed'
    : 'raced';
}

/**
 * Re-seals every v1 envelope (agent address only) as v2, binding the owner each row names now
 * (see lib/wallets/key-vault.ts for why that is the one moment the rows are trusted). Runs
 * when a worker starts and is a no-op once no v1 row is left; `keys:rotate` upgrades too.
 */
export async function upgradeLegacyEnvelopes(
  vault: AgentKeyVault = getVault(),
): Promise<{ upgraded: number; unreadable: number }> {
  const result = { upgraded: 0, unreadable: 0 };
  for (const wallet of await listWallets()) {
    if (!vault.isLegacy(wallet.encryptedPrivateKey)) continue;
    const outcome = await reseal(vault, wallet);
    if (outcome === 'resealed') result.upgraded++;
    if (outcome === 'unreadable') result.unreadable++;
  }
  return result;
}
