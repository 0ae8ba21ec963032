import {
  createWalletClient,
  defineChain,
  encodeFunctionData,
  getAddress,
  http,
  publicActions,
  parseEther,
  parseGwei,
  type Address,
  type Hex,
} from 'viem';
import { generatePrivateKey } from 'viem/accounts';
import { x402DemoTokenAbi, x402DemoTokenBytecode } from '@/lib/chain/contracts.generated';
import { waitForReceipt } from '@/lib/chain/receipts';
import { poolTransport } from '@/lib/chain/rpc-transport';
import { nativeAccount } from '@/lib/chain/native-crypto';

/**
 * The mint server's keys on the local chain: its own (it owns and mints the demo token) and
 * `settlers` facilitator keys (they pay gas for settling payments, transferWithAuthorization).
 * Fresh keys get ETH with anvil_setBalance. One chain lookup and one connection pool for all.
 */
export async function serverWallets(rpcUrl: string, { key, settlers }: { key?: Hex; settlers: number }) {
  const probe = createWalletClient({ transport: http(rpcUrl) }).extend(publicActions);
  const chainId = await probe.getChainId();
  const chain = defineChain({
    id: chainId,
    name: `x402 mint server chain ${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  // The pool transport (undici, calls of one tick batched) costs a third of fetch's CPU a call.
  const transport = poolTransport(rpcUrl, { timeoutMs: 30_000 });
  const walletOf = async (own?: Hex) => {
    // libsecp256k1 where it loads (the worker's signer): the server signs two transactions a mint.
    const account = nativeAccount(own ?? generatePrivateKey());
    // pollingInterval: anvil mines on arrival, so a receipt is there within milliseconds.
    const wallet = createWalletClient({ account, chain, transport, pollingInterval: 20 }).extend(publicActions);
    if (!own)
      await probe.request({
        method: 'anvil_setBalance' as never,
        params: [account.address, `0x${parseEther('1000').toString(16)}`] as never,
      });
    return wallet;
  };
  const [wallet, ...settlerWallets] = await Promise.all([
    walletOf(key),
    ...Array.from({ length: settlers }, () => walletOf()),
  ]);
  return { wallet: wallet!, settlers: settlerWallets, chainId };
}

export type ServerWallet = Awaited<ReturnType<typeof serverWallets>>['wallet'];

export async function deployDemoToken(wallet: ServerWallet, name: string, symbol: string): Promise<Address> {
  const hash = await wallet.deployContract({
    abi: x402DemoTokenAbi,
    bytecode: x402DemoTokenBytecode,
    args: [name, symbol],
  });
  const receipt = await wallet.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success' || !receipt.contractAddress)
    throw new Error(`X402DemoToken deployment reverted (${hash})`);
  return getAddress(receipt.contractAddress);
}

// One transaction send at a time per key: settling and minting share the key's nonce.
const queues = new Map<string, Promise<unknown>>();

export function serialPerKey<T>(key: string, run: () => Promise<T>): Promise<T> {
  const previous = queues.get(key) ?? Promise.resolve();
  const next = previous.then(run, run);
  queues.set(
    key,
    next.catch(() => {}),
  );
  return next;
}

const nonces = new Map<string, number>();

/**
 * A contract call signed here with the nonce kept here and gas and fees given, so a send is one
 * signature and one RPC (viem's writeContract would first fill the transaction on the node,
 * inside the one-at-a-time section). Only ever called inside serialPerKey.
 */
export async function writeInOrder(
  wallet: ServerWallet,
  args: { address: Address; abi: readonly unknown[]; functionName: string; args: readonly unknown[]; gas?: bigint },
): Promise<Hex> {
  const key = wallet.account.address;
  const nonce = nonces.get(key) ?? (await wallet.getTransactionCount({ address: key, blockTag: 'pending' }));
  try {
    const data = encodeFunctionData({ abi: args.abi, functionName: args.functionName, args: args.args } as never);
    const serializedTransaction = await wallet.account.signTransaction({
      type: 'eip1559',
      chainId: wallet.chain.id,
      to: args.address,
      data,
      nonce,
      gas: args.gas ?? 300_000n,
      maxFeePerGas: parseGwei('100'),
      maxPriorityFeePerGas: parseGwei('1'),
    });
    const hash = await wallet.sendRawTransaction({ serializedTransaction });
    nonces.set(key, nonce + 1);
    return hash;
  } catch (error) {
    nonces.delete(key); // re-read from the node next time
    throw error;
  }
}

export async function mintDemoToken(wallet: ServerWallet, token: Address, to: Address, amount: bigint): Promise<Hex> {
  const hash = await serialPerKey(wallet.account.address, () =>
    writeInOrder(wallet, { address: token, abi: x402DemoTokenAbi, functionName: 'mint', args: [to, amount] }),
  );
  const receipt = await waitForReceipt(wallet as never, hash, 30_000);
  if (receipt.status !== 'success') throw new Error(`mint reverted (${hash})`);
  return hash;
}
