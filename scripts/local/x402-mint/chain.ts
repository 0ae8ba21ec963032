import { createWalletClient, defineChain, getAddress, http, publicActions, parseEther, type Address, type Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { x402DemoTokenAbi, x402DemoTokenBytecode } from '@/lib/chain/contracts.generated';

/**
 * The mint server's own key on the local chain: it pays gas for settling payments
 * (transferWithAuthorization) and for minting the demo token, whose owner it is.
 */
export async function serverWallet(rpcUrl: string, key?: Hex) {
  const probe = createWalletClient({ transport: http(rpcUrl) }).extend(publicActions);
  const chainId = await probe.getChainId();
  const chain = defineChain({
    id: chainId,
    name: `x402 mint server chain ${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  const account = privateKeyToAccount(key ?? generatePrivateKey());
  // pollingInterval: anvil mines on arrival, so a receipt is there within milliseconds.
  const wallet = createWalletClient({ account, chain, transport: http(rpcUrl), pollingInterval: 20 }).extend(publicActions);
  if (!key) await probe.request({ method: 'anvil_setBalance' as never, params: [account.address, `0x${parseEther('1000').toString(16)}`] as never });
  return { wallet, chainId, account };
}

export type ServerWallet = Awaited<ReturnType<typeof serverWallet>>['wallet'];

export async function deployDemoToken(wallet: ServerWallet, name: string, symbol: string): Promise<Address> {
  const hash = await wallet.deployContract({ abi: x402DemoTokenAbi, bytecode: x402DemoTokenBytecode, args: [name, symbol] });
  const receipt = await wallet.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success' || !receipt.contractAddress) throw new Error(`X402DemoToken deployment reverted (${hash})`);
  return getAddress(receipt.contractAddress);
}

// One transaction at a time per key: settling and minting share the key's nonce, and two
// settlements in flight could both pass verification for one authorization.
const queues = new Map<string, Promise<unknown>>();

export function serialPerKey<T>(key: string, run: () => Promise<T>): Promise<T> {
  const previous = queues.get(key) ?? Promise.resolve();
  const next = previous.then(run, run);
  queues.set(key, next.catch(() => {}));
  return next;
}

export async function mintDemoToken(wallet: ServerWallet, token: Address, to: Address, amount: bigint): Promise<Hex> {
  return serialPerKey(wallet.account.address, async () => {
    const hash = await wallet.writeContract({ address: token, abi: x402DemoTokenAbi, functionName: 'mint', args: [to, amount] });
    const receipt = await wallet.waitForTransactionReceipt({ hash });
    if (receipt.status !== 'success') throw new Error(`mint reverted (${hash})`);
    return hash;
  });
}
