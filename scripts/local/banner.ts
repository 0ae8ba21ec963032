import { createPublicClient, erc20Abi, formatUnits, http, type Address } from 'viem';
import type { Deployment } from '@/lib/chain/deployment';
import { paidMintTokenAbi } from '@/lib/chain/contracts.generated';
import type { Config } from '@/lib/config';
import { anvilAccount, ANVIL_MNEMONIC } from './anvil';

// The anvil dev keys are public test keys (derived from the well-known "test … junk" mnemonic);
// printing one is how a newcomer imports a funded account into a browser wallet.
const DEMO_PRIVATE_KEYS: Record<number, string> = {
  1: '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
};

export async function printBanner(input: {
  url: string;
  config: Config;
  deployment?: Deployment;
  demoIndex: number;
  operator: Address;
  /** The local x402 demo mint server, when this start runs one. */
  x402?: { mintUrl(): string; tokenAddress: Address; price: bigint };
}) {
  const { url, config, deployment } = input;
  const lines = ['', '  AgentMint is running', '', `  App        ${url}`];
  lines.push(`  Chain      ${config.chain} (chain id ${deployment?.chainId ?? '?'}), RPC ${config.rpcUrl}`);
  if (deployment) {
    const demo = anvilAccount(input.demoIndex);
    const client = createPublicClient({ transport: http(config.rpcUrl) });
    const usdc = await client.readContract({
      address: deployment.usdc,
      abi: erc20Abi,
      functionName: 'balanceOf',
      args: [demo.address],
    });
    // npm start deploys a TestUSDC unless USDC_ADDRESS names a real one; say which it is.
    const money = config.usdcAddress ? 'USDC' : 'test USDC';
    lines.push(`  ${config.usdcAddress ? 'USDC      ' : 'TestUSDC  '} ${deployment.usdc}`);
    // Each token's own price, from the chain (tokens added by deploy:token have their own).
    const prices = await Promise.all(
      deployment.tokens.map((t) =>
        client
          .readContract({ address: t.address, abi: paidMintTokenAbi, functionName: 'pricePerMint' })
          .catch(() => undefined),
      ),
    );
    deployment.tokens.forEach((t, i) => {
      const price = prices[i];
      lines.push(
        `  Token      ${t.symbol.padEnd(4)} ${t.address}${price === undefined ? '' : `  (${formatUnits(price, 6)} ${money} per mint)`}`,
      );
    });
    if (input.x402) {
      lines.push(
        `  x402       ${input.x402.mintUrl()}  (X4D, ${formatUnits(input.x402.price, 6)} USDC per mint; try "mint 10 from <this URL>")`,
      );
    }
    lines.push(`  Operator   ${input.operator}`);
    lines.push(
      '',
      '  Demo account — import it into your browser wallet (public anvil test key, never use it on a real network):',
    );
    lines.push(`    address      ${demo.address}`);
    lines.push(
      `    private key  ${DEMO_PRIVATE_KEYS[input.demoIndex] ?? `(mnemonic "${ANVIL_MNEMONIC}", index ${input.demoIndex})`}`,
    );
    lines.push(`    balance      ${formatUnits(usdc, 6)} ${money}`);
    lines.push(`  Wallet network: RPC ${config.rpcUrl}, chain id ${deployment.chainId}, currency ETH`);
  }
  lines.push('', '  Press Ctrl-C to stop everything.', '');
  console.log(lines.join('\n'));
}
