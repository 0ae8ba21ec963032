// `npm run deploy:token -- --name X --symbol Y --price 0.1 --amount 1000 --max 10000 [--signer 0x…]`
// Deploys a PaidMintToken on the configured chain from the operator account, paid in the
// configured USDC, with the operator as mint signer unless --signer says otherwise, and records
// it in the deployment file so /api/config and the chat agent know it.
import { parseArgs } from 'node:util';
import { formatUnits, getAddress, isAddress, parseUnits, type Address } from 'viem';
import { z } from 'zod';
import { recordKnownTokensAt } from '@/db/known-tokens';
import { getChain, getKnownContracts, getOperatorAccount, getOperatorWalletClient } from '@/lib/chain/clients';
import { deployPaidMintToken } from '@/lib/chain/deploy';
import { getConfig } from '@/lib/config';
import { deploymentFileShown, openDeployer, runAsScript } from './deployer';

const USAGE =
  'usage: npm run deploy:token -- --name <name> --symbol <SYM> --price <USDC per mint> --amount <tokens per mint> --max <mint count> [--signer 0x…]';

const decimal = (what: string) =>
  z.string({ message: `--${what} is required` }).regex(/^\d+(\.\d+)?$/, `--${what} must be a positive decimal number`);

const argsSchema = z.object({
  name: z.string({ message: '--name is required' }).trim().min(1, '--name is required').max(64),
  symbol: z
    .string({ message: '--symbol is required' })
    .trim()
    .regex(/^[A-Za-z0-9]{1,11}$/, '--symbol must be 1–11 letters or digits'),
  // USDC has 6 decimals; the token is a standard 18-decimal ERC20.
  price: decimal('price')
    .transform((v) => parseUnits(v, 6))
    .refine((v) => v > 0n, '--price must be above 0'),
  amount: decimal('amount')
    .transform((v) => parseUnits(v, 18))
    .refine((v) => v > 0n, '--amount must be above 0'),
  max: z
    .string({ message: '--max is required' })
    .regex(/^[1-9]\d*$/, '--max must be a whole number above 0')
    .transform(BigInt),
  signer: z
    .string()
    .refine((v) => isAddress(v, { strict: false }), '--signer must be a 0x-prefixed 20-byte address')
    .transform((v) => getAddress(v))
    .optional(),
});

export type DeployTokenArgs = z.infer<typeof argsSchema>;

export function parseDeployTokenArgs(argv: string[]): DeployTokenArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      name: { type: 'string' },
      symbol: { type: 'string' },
      price: { type: 'string' },
      amount: { type: 'string' },
      max: { type: 'string' },
      signer: { type: 'string' },
    },
    strict: true,
  });
  const parsed = argsSchema.safeParse(values);
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => i.message).join('\n'));
  return parsed.data;
}

export async function deployToken(args: DeployTokenArgs): Promise<Address> {
  const deployer = await openDeployer();
  const { usdc } = getKnownContracts();
  const operator = getOperatorAccount().address;
  const mintSigner = args.signer ?? operator;

  const address = await deployPaidMintToken(getOperatorWalletClient(), deployer.publicClient, {
    name: args.name,
    symbol: args.symbol,
    paymentToken: usdc,
    pricePerMint: args.price,
    mintAmount: args.amount,
    maxMintCount: args.max,
    mintSigner,
  });
  deployer.record((deployment) => ({
    ...deployment,
    tokens: [...deployment.tokens, { address, name: args.name, symbol: args.symbol }],
  }));
  return address;
}

/**
 * Records the token in the database as one AgentMint deployed (tasks may mint it). Without
 * DATABASE_URL (or with the database down) it stays in the deployment file only, which the next
 * `npm start` records; the returned line says which.
 */
export async function recordDeployedToken(address: Address, args: DeployTokenArgs): Promise<string> {
  const url = getConfig().databaseUrl;
  if (!url)
    return 'not yet in the database (DATABASE_URL unset): the next `npm start` records it from the deployment file';
  try {
    await recordKnownTokensAt(url, {
      chainId: getChain().id,
      source: 'deployed',
      tokens: [{ address, name: args.name, symbol: args.symbol }],
    });
    return 'recorded in the database: tasks may mint it';
  } catch (error) {
    return `not recorded in the database (${error instanceof Error ? error.message.split('\n')[0] : String(error)}): the next \`npm start\` records it`;
  }
}

runAsScript(import.meta.url, 'deploy:token', async () => {
  let args: DeployTokenArgs;
  try {
    args = parseDeployTokenArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    process.exit(2);
  }
  const config = getConfig();
  const operator = getOperatorAccount().address;
  const address = await deployToken(args);
  console.log(`deployed ${args.symbol} (${args.name}) on ${config.chain} (chain ${getChain().id})`);
  console.log(
    `  ${formatUnits(args.price, 6)} USDC per mint, ${formatUnits(args.amount, 18)} ${args.symbol} per mint, at most ${args.max} mints`,
  );
  console.log(`  owner ${operator}, mint signer ${args.signer ?? operator}`);
  if (args.signer && args.signer !== operator) {
    console.log('  AgentMint can mint it only if that signer key is listed in mintSignerKeys of the key file');
  }
  console.log(`  recorded in ${deploymentFileShown()}`);
  console.log(`  ${await recordDeployedToken(address, args)}`);
  console.log(address);
});
