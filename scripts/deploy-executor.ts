// `npm run deploy:executor`: deploys AgentBatchExecutor (the EIP-7702 delegation target of agent
// wallets) on the configured chain from the operator account and records it in the deployment
// file, where the worker finds it (or set BATCH_EXECUTOR_ADDRESS to one already deployed: it
// holds no state, so one per chain serves every install).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Address } from 'viem';
import { getChain, getKnownContracts, getOperatorWalletClient, getPublicClient } from '@/lib/chain/clients';
import { deployBatchExecutor } from '@/lib/chain/deploy';
import { readDeployment, writeDeployment } from '@/lib/chain/deployment';
import { getConfig } from '@/lib/config';

export async function deployExecutor(): Promise<Address> {
  const config = getConfig();
  const chain = getChain();
  const publicClient = getPublicClient();
  const rpcChainId = await publicClient.getChainId();
  if (rpcChainId !== chain.id) throw new Error(`RPC ${config.rpcUrl} is chain ${rpcChainId}, not the configured ${config.chain} (${chain.id})`);
  const existing = readDeployment(config.deploymentFile);
  if (existing && existing.chainId !== chain.id) {
    throw new Error(`${config.deploymentFile} records chain ${existing.chainId}, not ${chain.id}: set DEPLOYMENT_FILE for this chain`);
  }
  const address = await deployBatchExecutor(getOperatorWalletClient(), publicClient);
  const deployment = existing ?? { chainId: chain.id, usdc: getKnownContracts().usdc, tokens: [], deployedAt: new Date().toISOString() };
  writeDeployment(config.deploymentFile, { ...deployment, batchExecutor: address });
  return address;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  deployExecutor().then(
    (address) => {
      const config = getConfig();
      console.log(`deployed AgentBatchExecutor on ${config.chain} (chain ${getChain().id})`);
      console.log(`  recorded in ${path.relative(process.cwd(), config.deploymentFile) || config.deploymentFile}`);
      if (config.batchExecutorAddress) console.log(`  note: BATCH_EXECUTOR_ADDRESS=${config.batchExecutorAddress} is set and takes precedence`);
      console.log(address);
    },
    (error) => {
      console.error(`deploy:executor failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
      process.exit(1);
    },
  );
}
