// What both deploy scripts (deploy:token, deploy:executor) do around the deployment itself:
// refuse an RPC that serves another chain than the configured one and a deployment file recorded
// for another chain (both before sending anything), then record what was deployed in that file.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getChain, getKnownContracts, getPublicClient } from '@/lib/chain/clients';
import { readDeployment, writeDeployment, type Deployment } from '@/lib/chain/deployment';
import { getConfig } from '@/lib/config';

export async function openDeployer() {
  const config = getConfig();
  const chain = getChain();
  const publicClient = getPublicClient();
  const rpcChainId = await publicClient.getChainId();
  if (rpcChainId !== chain.id)
    throw new Error(`RPC ${config.rpcUrl} is chain ${rpcChainId}, not the configured ${config.chain} (${chain.id})`);
  const existing = readDeployment(config.deploymentFile);
  if (existing && existing.chainId !== chain.id) {
    throw new Error(
      `${config.deploymentFile} records chain ${existing.chainId}, not ${chain.id}: set DEPLOYMENT_FILE for this chain`,
    );
  }
  return {
    publicClient,
    /** Writes the deployment file: `change` gets its record, or a fresh one for this chain and the configured USDC. */
    record(change: (deployment: Deployment) => Deployment) {
      const deployment = existing ?? {
        chainId: chain.id,
        usdc: getKnownContracts().usdc,
        tokens: [],
        deployedAt: new Date().toISOString(),
      };
      writeDeployment(config.deploymentFile, change(deployment));
    },
  };
}

/** The deployment file as the scripts print it: relative to the working directory when inside it. */
export function deploymentFileShown() {
  const file = getConfig().deploymentFile;
  return path.relative(process.cwd(), file) || file;
}

/** Runs `main` when the module is the script node was started with (not when a test imports it). */
export function runAsScript(moduleUrl: string, name: string, main: () => Promise<void>) {
  if (!process.argv[1] || path.resolve(process.argv[1]) !== fileURLToPath(moduleUrl)) return;
  main().catch((error) => {
    console.error(`${name} failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    process.exit(1);
  });
}
