import { createRequire } from 'node:module';
import {
  createPublicClient,
  createWalletClient,
  getAddress,
  http,
  type Address,
  type Hex,
  type LocalAccount,
} from 'viem';
import { localChain } from '@/lib/chain/chains';

const solc = createRequire(import.meta.url)('solc') as { compile(input: string): string };

// A minimal smart-contract wallet: ERC-1271 says a signature is valid when its owner made it.
// Bytes after the owner's 65-byte signature are ignored, as smart accounts that append a
// validator id do, so a wallet signature may be longer than an EOA's.
const SOURCE = `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;
contract OwnerWallet {
  address public owner;
  constructor(address o) { owner = o; }
  function isValidSignature(bytes32 hash, bytes calldata sig) external view returns (bytes4) {
    if (sig.length < 65) return 0xffffffff;
    bytes32 r = bytes32(sig[0:32]);
    bytes32 s = bytes32(sig[32:64]);
    uint8 v = uint8(sig[64]);
    return ecrecover(hash, v, r, s) == owner ? bytes4(0x1626ba7e) : bytes4(0xffffffff);
  }
}`;

/** Deploys an ERC-1271 wallet owned by `owner` (paid by `deployer`); returns its address. */
export async function deployOwnerWallet(rpcUrl: string, deployer: LocalAccount, owner: Address): Promise<Address> {
  const input = {
    language: 'Solidity',
    sources: { 'OwnerWallet.sol': { content: SOURCE } },
    settings: { outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input)));
  const artifact = out.contracts['OwnerWallet.sol'].OwnerWallet as {
    abi: unknown[];
    evm: { bytecode: { object: string } };
  };
  const chain = { ...localChain, rpcUrls: { default: { http: [rpcUrl] } } };
  const wallet = createWalletClient({ account: deployer, chain, transport: http(rpcUrl) });
  const client = createPublicClient({ chain, transport: http(rpcUrl) });
  const hash = await wallet.deployContract({
    abi: artifact.abi,
    bytecode: `0x${artifact.evm.bytecode.object}` as Hex,
    args: [owner],
  });
  const receipt = await client.waitForTransactionReceipt({ hash });
  return getAddress(receipt.contractAddress!);
}
