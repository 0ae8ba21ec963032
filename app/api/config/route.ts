import { getChain, getKnownContracts } from '@/lib/chain/clients';
import { readPaidMintToken } from '@/lib/chain/tokens';
import { getUsdcDomain } from '@/lib/chain/usdc';
import { getConfig } from '@/lib/config';
import { json, route } from '@/lib/http';

export const dynamic = 'force-dynamic';

/** What a client needs to talk to this install: chain, USDC and its domain, the demo tokens, the demo x402 endpoint. */
export const GET = route(async () => {
  const config = getConfig();
  const chain = getChain();
  const { usdc, tokens } = getKnownContracts();
  const [domain, tokenInfo] = await Promise.all([
    getUsdcDomain(),
    Promise.all(tokens.map((t) => readPaidMintToken(t.address))),
  ]);
  return json({
    chain: config.chain,
    chainId: chain.id,
    chainName: chain.name,
    // A private RPC URL may carry an API key; only the local anvil URL is shared with browsers.
    rpcUrl: config.chain === 'local' ? config.rpcUrl : null,
    blockExplorer: chain.blockExplorers?.default.url ?? null,
    usdc: { address: usdc, decimals: 6, domain },
    tokens: tokenInfo.map((t) => ({
      address: t.address,
      name: t.name,
      symbol: t.symbol,
      pricePerMint: t.pricePerMint.toString(),
      mintAmount: t.mintAmount.toString(),
      mintCount: t.mintCount.toString(),
      maxMintCount: t.maxMintCount.toString(),
      remaining: (t.maxMintCount - t.mintCount).toString(),
    })),
    // The local x402 mint server npm start runs beside the app (null elsewhere).
    x402Demo: config.x402.demoUrl ? { url: config.x402.demoUrl } : null,
  });
});
