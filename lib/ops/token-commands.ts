import { listToken, listTokens, unlistToken } from '../tokens/known-tokens';
import type { CommandResult } from './commands';
import { UsageError } from './commands';
import { table } from '../text-table';

/**
 * `ops tokens` lists the tokens tasks may mint; `tokens add 0x…` lists one after checking its
 * code is PaidMintToken's, paid in our USDC, with a mint signer we hold; `tokens remove 0x…`
 * stops new tasks for it (tasks already created keep running).
 */
export async function tokensCommand({
  action,
  address,
}: {
  action?: string;
  address?: string;
}): Promise<CommandResult> {
  if (!action || action === 'list') {
    if (address) throw new UsageError('tokens takes no address; use tokens add|remove 0x…');
    const tokens = await listTokens();
    const json = tokens.map((t) => ({
      address: t.address,
      symbol: t.symbol,
      name: t.name,
      source: t.source,
      since: t.createdAt.toISOString(),
    }));
    return {
      json,
      text: `${table(
        ['address', 'symbol', 'name', 'source', 'since'],
        json.map((t) => [t.address, t.symbol, t.name, t.source, t.since.slice(0, 19)]),
      )}\n${json.length} token(s)`,
    };
  }
  if (!address) throw new UsageError(`tokens ${action} takes a token address`);
  if (action === 'add') {
    const token = await listToken(address);
    return {
      json: { ...token, createdAt: token.createdAt.toISOString() },
      text: `${token.symbol ?? token.address} (${token.address}) may be minted (${token.source})`,
    };
  }
  if (action === 'remove') {
    const removed = await unlistToken(address);
    return {
      json: { address, removed },
      text: removed ? `${address} removed: no new tasks for it` : `${address} was not listed`,
    };
  }
  throw new UsageError(`unknown tokens action ${action} (list, add or remove)`);
}
