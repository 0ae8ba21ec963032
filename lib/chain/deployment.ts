import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { HEX_ADDRESS } from '../hex';

const address = z
  .string()
  .regex(HEX_ADDRESS)
  .transform((a) => a as `0x${string}`);

export const demoTokenSchema = z.object({
  address,
  name: z.string(),
  symbol: z.string(),
});

const deploymentSchema = z.object({
  chainId: z.number().int(),
  usdc: address,
  tokens: z.array(demoTokenSchema).default([]),
  /** AgentBatchExecutor (EIP-7702 delegation target), once deployed. */
  batchExecutor: address.optional(),
  deployedAt: z.string(),
});

export type Deployment = z.infer<typeof deploymentSchema>;
export type DemoToken = z.infer<typeof demoTokenSchema>;

/** The contracts this install deployed (local chain) or was told about (`deploy:token` on Base). */
export function readDeployment(file: string): Deployment | undefined {
  if (!existsSync(file)) return undefined;
  return deploymentSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
}

export function writeDeployment(file: string, deployment: Deployment) {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(deployment, null, 2) + '\n');
}
