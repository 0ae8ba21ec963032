import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Abi, Address, Hex, PublicClient, WalletClient, Account, Chain, Transport } from 'viem';

const require = createRequire(import.meta.url);
const solc = require('solc') as { compile(input: string): string };
const source = path.join(import.meta.dirname, '..', 'contracts', 'hostile', 'GasBurnerToken.sol');

let compiled: { abi: Abi; bytecode: Hex } | undefined;

/** GasBurnerToken compiled with solc-js (a test contract: not part of contracts/ or the generated ABIs). */
export function gasBurnerArtifact() {
  if (compiled) return compiled;
  const input = {
    language: 'Solidity',
    sources: { 'GasBurnerToken.sol': { content: readFileSync(source, 'utf8') } },
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: 'cancun',
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as {
    errors?: { severity: string; formattedMessage: string }[];
    contracts: Record<string, Record<string, { abi: Abi; evm: { bytecode: { object: string } } }>>;
  };
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length) throw new Error(errors.map((e) => e.formattedMessage).join('\n'));
  const artifact = output.contracts['GasBurnerToken.sol']!.GasBurnerToken!;
  compiled = { abi: artifact.abi, bytecode: `0x${artifact.evm.bytecode.object}` };
  return compiled;
}

/** Deploys a GasBurnerToken whose mint burns ~`burnRounds` × 100 gas. */
export async function deployGasBurner(
  wallet: WalletClient<Transport, Chain, Account>,
  client: PublicClient,
  {
    paymentToken,
    pricePerMint,
    mintSigner,
    burnRounds,
  }: { paymentToken: Address; pricePerMint: bigint; mintSigner: Address; burnRounds: bigint },
): Promise<Address> {
  const { abi, bytecode } = gasBurnerArtifact();
  const hash = await wallet.deployContract({
    abi,
    bytecode,
    args: [paymentToken, pricePerMint, mintSigner, burnRounds],
  });
  const receipt = await client.waitForTransactionReceipt({ hash });
  if (!receipt.contractAddress) throw new Error('GasBurnerToken deployment failed');
  return receipt.contractAddress;
}
