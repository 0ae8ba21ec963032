import { beforeAll, describe, expect, it } from 'vitest';
import { domainSeparator, encodePacked, parseUnits, toHex, type Address, type Hex } from 'viem';
import { testUSDCAbi } from '@/lib/chain/contracts.generated';
import { anvilAccount } from '@/scripts/local/anvil';
import { deployOwnerWallet } from '@/test/support/contract-wallet';
import { useTestStack } from '@/test/support/use-test-stack';
import { chainClients, mined, randomNonce, revertOf } from './chain-helpers';
import { SECP256K1_N, signAuthorization, usdcDomain, vrs, type Authorization } from './usdc-auth';

let c: ReturnType<typeof chainClients>;
let usdc: Address;
const payer = anvilAccount(1);
const payee = anvilAccount(2);
const relayer = anvilAccount(3);

const balanceOf = (account: Address) =>
  c.publicClient.readContract({ address: usdc, abi: testUSDCAbi, functionName: 'balanceOf', args: [account] });
const args = (a: Authorization) => [a.from, a.to, a.value, a.validAfter, a.validBefore, a.nonce] as const;
const simulateTransfer = (a: Authorization, signature: Hex) =>
  c.publicClient.simulateContract({
    account: relayer,
    address: usdc,
    abi: testUSDCAbi,
    functionName: 'transferWithAuthorization',
    args: [...args(a), signature],
  });

async function authorization(from: Address = payer.address): Promise<Authorization> {
  const now = (await c.publicClient.getBlock()).timestamp;
  return {
    from,
    to: payee.address,
    value: parseUnits('2', 6),
    validAfter: 0n,
    validBefore: now + 3600n,
    nonce: randomNonce(),
  };
}

const stack = useTestStack();

beforeAll(() => {
  c = chainClients(stack.anvil.url);
  usdc = stack.deployment.usdc;
});

describe('signature malleability', () => {
  it('refuses the high-s twin of a valid signature, in both overloads', async () => {
    const terms = await authorization();
    const { v, r, s } = vrs(await signAuthorization(payer, usdc, 'TransferWithAuthorization', terms));
    const highS = toHex(SECP256K1_N - BigInt(s), { size: 32 });
    const flippedV = v === 27 ? 28 : 27;
    const packed = encodePacked(['bytes32', 'bytes32', 'uint8'], [r, highS, flippedV]);
    expect((await revertOf(simulateTransfer(terms, packed))).reason).toBe('FiatTokenV2: invalid signature');
    const split = c.publicClient.simulateContract({
      account: relayer,
      address: usdc,
      abi: testUSDCAbi,
      functionName: 'transferWithAuthorization',
      args: [...args(terms), flippedV, r, highS],
    });
    expect((await revertOf(split)).reason).toBe('FiatTokenV2: invalid signature');
    // The low-s original still works: only the malleable form was refused.
    await simulateTransfer(terms, encodePacked(['bytes32', 'bytes32', 'uint8'], [r, s, v]));
  });
});

describe('chain id in the domain', () => {
  it('recomputes DOMAIN_SEPARATOR from block.chainid, so an old-chain signature stops verifying', async () => {
    const read = () =>
      c.publicClient.readContract({ address: usdc, abi: testUSDCAbi, functionName: 'DOMAIN_SEPARATOR' });
    expect(await read()).toBe(domainSeparator({ domain: usdcDomain(usdc, 31337) }));
    const terms = await authorization();
    const oldChainSig = await signAuthorization(payer, usdc, 'TransferWithAuthorization', terms, 31337);
    await simulateTransfer(terms, oldChainSig);
    await c.rpc('anvil_setChainId', [4242]);
    try {
      expect(await c.publicClient.getChainId()).toBe(4242);
      expect(await read()).toBe(domainSeparator({ domain: usdcDomain(usdc, 4242) }));
      expect((await revertOf(simulateTransfer(terms, oldChainSig))).reason).toBe('FiatTokenV2: invalid signature');
      await simulateTransfer(terms, await signAuthorization(payer, usdc, 'TransferWithAuthorization', terms, 4242));
    } finally {
      await c.rpc('anvil_setChainId', [31337]);
    }
    expect(await read()).toBe(domainSeparator({ domain: usdcDomain(usdc, 31337) }));
  });
});

// A minimal ERC-1271 wallet: valid when its owner's key signed the digest.

describe('ERC-1271 contract wallets', () => {
  it('accepts a signature the wallet vouches for and refuses one it does not', async () => {
    const owner = anvilAccount(5);
    const deployer = c.walletFor(anvilAccount(0));
    const wallet = await deployOwnerWallet(stack.anvil.url, anvilAccount(0), owner.address);
    await mined(
      c.publicClient,
      await deployer.writeContract({
        address: usdc,
        abi: testUSDCAbi,
        functionName: 'mint',
        args: [wallet, parseUnits('10', 6)],
      }),
    );

    const terms = await authorization(wallet);
    expect(
      (
        await revertOf(
          simulateTransfer(terms, await signAuthorization(anvilAccount(6), usdc, 'TransferWithAuthorization', terms)),
        )
      ).reason,
    ).toBe('FiatTokenV2: invalid signature');
    const signature = await signAuthorization(owner, usdc, 'TransferWithAuthorization', terms);
    const before = await balanceOf(payee.address);
    await mined(
      c.publicClient,
      await c.walletFor(relayer).writeContract((await simulateTransfer(terms, signature)).request),
    );
    expect(await balanceOf(wallet)).toBe(parseUnits('8', 6));
    expect(await balanceOf(payee.address)).toBe(before + terms.value);
  });
});
