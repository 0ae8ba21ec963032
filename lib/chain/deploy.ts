import {
  getAddress,
  type Account,
  type Address,
  type Chain,
  type PublicClient,
  type Transport,
  type WalletClient,
} from 'viem';
import {
  agentBatchExecutorAbi,
  agentBatchExecutorBytecode,
  paidMintTokenAbi,
  paidMintTokenBytecode,
  testUSDCAbi,
  testUSDCBytecode,
} from './contracts.generated';

type Deployer = WalletClient<Transport, Chain, Account>;

async function deployed(publicClient: PublicClient, hash: `0x${string}`, what: string): Promise<Address> {
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success' || !receipt.contractAddress)
    throw new Error(`${what} deployment reverted (${hash})`);
  return getAddress(receipt.contractAddress);
}

export async function deployTestUsdc(wallet: Deployer, publicClient: PublicClient): Promise<Address> {
  const hash = await wallet.deployContract({ abi: testUSDCAbi, bytecode: testUSDCBytecode, args: [] });
  return deployed(publicClient, hash, 'TestUSDC');
}

export type PaidMintTokenParams = {
  name: string;
  symbol: string;
  paymentToken: Address;
  pricePerMint: bigint;
  mintAmount: bigint;
  maxMintCount: bigint;
  mintSigner: Address;
};

export async function deployPaidMintToken(wallet: Deployer, publicClient: PublicClient, p: PaidMintTokenParams) {
  const hash = await wallet.deployContract({
    abi: paidMintTokenAbi,
    bytecode: paidMintTokenBytecode,
    args: [p.name, p.symbol, p.paymentToken, p.pricePerMint, p.mintAmount, p.maxMintCount, p.mintSigner],
  });
  return deployed(publicClient, hash, `PaidMintToken ${p.symbol}`);
}

/** The EIP-7702 delegation target of agent wallets (stateless: one per chain serves every agent). */
export async function deployBatchExecutor(wallet: Deployer, publicClient: PublicClient) {
  const hash = await wallet.deployContract({
    abi: agentBatchExecutorAbi,
    bytecode: agentBatchExecutorBytecode,
    args: [],
  });
  return deployed(publicClient, hash, 'AgentBatchExecutor');
}
