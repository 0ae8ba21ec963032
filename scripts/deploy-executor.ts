// `npm run deploy:executor`: deploys AgentBatchExecutor (the EIP-7702 delegation target of agent
// wallets) on the configured chain from the operator account and records it in the deployment
// file, where the worker finds it (or set BATCH_EXECUTOR_ADDRESS to one already deployed: it
// holds no state, so one per chain serves every install).
import type { Address } from 'viem';
import { getChain, getOperatorWalletClient } from '@/lib/chain/clients';
import { deployBatchExecutor } from '@/lib/chain/deploy';
import { getConfig } from '@/lib/config';
import { deploymentFileShown, openDeployer, runAsScript } from './deployer';

export async function deployExecutor(): Promise<Address> {
  const deployer = await openDeployer();
  const address = await deployBatchExecutor(getOperatorWalletClient(), deployer.publicClient);
  deployer.record((deployment) => ({ ...deployment, batchExecutor: address }));
  return address;
}

runAsScript(import.meta.url, 'deploy:executor', async () => {
  const address = await deployExecutor();
  const config = getConfig();
  console.log(`deployed AgentBatchExecutor on ${config.chain} (chain ${getChain().id})`);
  console.log(`  recorded in ${deploymentFileShown()}`);
  if (config.batchExecutorAddress)
    console.log(`  note: BATCH_EXECUTOR_ADDRESS=${config.batchExecutorAddress} is set and takes precedence`);
  console.log(address);
});
