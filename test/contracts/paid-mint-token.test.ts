import { beforeAll, describe, expect, it } from 'vitest';
import { maxUint256, parseEther, parseEventLogs, parseUnits, type Address, type Hex, type LocalAccount } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { paidMintTokenAbi, testUSDCAbi } from '@/lib/chain/contracts.generated';
import { deployPaidMintToken } from '@/lib/chain/deploy';
import { mintIdOf } from '@/lib/chain/mint-id';
import { anvilAccount } from '@/scripts/local/anvil';
import { useTestStack } from '@/test/support/use-test-stack';
import { chainClients, mined, randomNonce, revertOf, signMint } from './chain-helpers';

let c: ReturnType<typeof chainClients>;
let usdc: Address;
let token: Address;
let signer: LocalAccount;
const owner = anvilAccount(0); // deployed the demo tokens: receives every payment
const payer = anvilAccount(6);
const recipient = anvilAccount(7);
const poorPayer = anvilAccount(8);
const PRICE = parseUnits('0.1', 6);
const AMOUNT = parseEther('1000');

const usdcBalance = (a: Address) =>
  c.publicClient.readContract({ address: usdc, abi: testUSDCAbi, functionName: 'balanceOf', args: [a] });
const read = <F extends 'mintCount' | 'remainingMints' | 'totalSupply'>(functionName: F, at = token) =>
  c.publicClient.readContract({ address: at, abi: paidMintTokenAbi, functionName });

async function approve(account: LocalAccount, spender: Address, amount = maxUint256) {
  await mined(
    c.publicClient,
    await c
      .walletFor(account)
      .writeContract({ address: usdc, abi: testUSDCAbi, functionName: 'approve', args: [spender, amount] }),
  );
}

/** Simulates `mint` from `from` with a signature made by `by` over `signed` (defaults: the real signer, the real call). */
async function simulateMint({
  from = payer,
  to = recipient.address,
  mintId = randomNonce(),
  by = signer,
  at = token,
  signed = {} as { payer?: Address; to?: Address },
} = {}) {
  const { v, r, s } = await signMint(c.publicClient, by, at, {
    payer: signed.payer ?? from.address,
    to: signed.to ?? to,
    mintId,
  });
  return c.publicClient.simulateContract({
    account: from,
    address: at,
    abi: paidMintTokenAbi,
    functionName: 'mint',
    args: [to, mintId, v, r, s],
  });
}

const stack = useTestStack();

beforeAll(async () => {
  c = chainClients(stack.anvil.url);
  usdc = stack.deployment.usdc;
  token = stack.deployment.tokens[0]!.address;
  signer = privateKeyToAccount(stack.keys.operatorPrivateKey as Hex);
  await approve(payer, token);
});

describe('PaidMintToken.mint', () => {
  it('has the demo terms and the operator as mint signer', async () => {
    const view = <F extends 'pricePerMint' | 'mintAmount' | 'maxMintCount' | 'mintSigner' | 'paymentToken'>(
      functionName: F,
    ) => c.publicClient.readContract({ address: token, abi: paidMintTokenAbi, functionName });
    expect([await view('pricePerMint'), await view('mintAmount'), await view('maxMintCount')]).toEqual([
      PRICE,
      AMOUNT,
      100_000n,
    ]);
    expect([await view('mintSigner'), await view('paymentToken')]).toEqual([stack.operator, usdc]);
  });

  it('charges the payer pricePerMint for the owner and mints mintAmount to `to`', async () => {
    const mintId = mintIdOf('00000000-0000-4000-8000-000000000001', 1);
    const [payerBefore, ownerBefore, countBefore] = [
      await usdcBalance(payer.address),
      await usdcBalance(owner.address),
      await read('mintCount'),
    ];
    const { request } = await simulateMint({ mintId });
    const receipt = await mined(c.publicClient, await c.walletFor(payer).writeContract(request));

    expect(await usdcBalance(payer.address)).toBe(payerBefore - PRICE);
    expect(await usdcBalance(owner.address)).toBe(ownerBefore + PRICE);
    const tokenBalance = await c.publicClient.readContract({
      address: token,
      abi: paidMintTokenAbi,
      functionName: 'balanceOf',
      args: [recipient.address],
    });
    expect(tokenBalance).toBe(AMOUNT);
    const payerTokens = await c.publicClient.readContract({
      address: token,
      abi: paidMintTokenAbi,
      functionName: 'balanceOf',
      args: [payer.address],
    });
    expect(payerTokens).toBe(0n);
    expect(await read('mintCount')).toBe(countBefore + 1n);
    expect(await read('remainingMints')).toBe(100_000n - countBefore - 1n);
    expect(
      await c.publicClient.readContract({
        address: token,
        abi: paidMintTokenAbi,
        functionName: 'usedMintIds',
        args: [mintId],
      }),
    ).toBe(true);
    const [minted] = parseEventLogs({ abi: paidMintTokenAbi, logs: receipt.logs, eventName: 'Minted' });
    expect(minted?.args).toEqual({ payer: payer.address, to: recipient.address, mintId, amount: AMOUNT, price: PRICE });

    const again = await revertOf(simulateMint({ mintId }));
    expect(again.errorName).toBe('MintIdUsed');
    expect(again.args).toEqual([mintId]);
  });

  it('refuses a signature by anyone but the mint signer', async () => {
    expect((await revertOf(simulateMint({ by: anvilAccount(9) }))).errorName).toBe('InvalidMintSignature');
    expect((await revertOf(simulateMint({ by: payer }))).errorName).toBe('InvalidMintSignature');
  });

  it('binds the signature to the payer and to the recipient', async () => {
    expect((await revertOf(simulateMint({ signed: { payer: anvilAccount(5).address } }))).errorName).toBe(
      'InvalidMintSignature',
    );
    expect((await revertOf(simulateMint({ signed: { to: payer.address } }))).errorName).toBe('InvalidMintSignature');
    // A signature made for the other demo token does not verify on this one (domain = token).
    const other = stack.deployment.tokens[1]!.address;
    const mintId = randomNonce();
    const { v, r, s } = await signMint(c.publicClient, signer, other, {
      payer: payer.address,
      to: recipient.address,
      mintId,
    });
    const crossToken = c.publicClient.simulateContract({
      account: payer,
      address: token,
      abi: paidMintTokenAbi,
      functionName: 'mint',
      args: [recipient.address, mintId, v, r, s],
    });
    expect((await revertOf(crossToken)).errorName).toBe('InvalidMintSignature');
  });

  it('refuses without enough allowance, and with too little balance', async () => {
    await approve(poorPayer, token, 0n);
    const noAllowance = await revertOf(simulateMint({ from: poorPayer }));
    expect(noAllowance.errorName).toBe('ERC20InsufficientAllowance');
    expect(noAllowance.args).toEqual([token, 0n, PRICE]);

    await approve(poorPayer, token, PRICE - 1n);
    expect((await revertOf(simulateMint({ from: poorPayer }))).errorName).toBe('ERC20InsufficientAllowance');

    const balance = await usdcBalance(poorPayer.address);
    await mined(
      c.publicClient,
      await c.walletFor(poorPayer).writeContract({
        address: usdc,
        abi: testUSDCAbi,
        functionName: 'transfer',
        args: [owner.address, balance - PRICE + 1n],
      }),
    );
    await approve(poorPayer, token);
    const poor = await revertOf(simulateMint({ from: poorPayer }));
    expect(poor.errorName).toBe('ERC20InsufficientBalance');
    expect(poor.args).toEqual([poorPayer.address, PRICE - 1n, PRICE]);
  });

  it('stops at maxMintCount', async () => {
    const small = await deployPaidMintToken(c.walletFor(owner), c.publicClient, {
      name: 'Tiny Cap',
      symbol: 'TINY',
      paymentToken: usdc,
      pricePerMint: PRICE,
      mintAmount: 1n,
      maxMintCount: 2n,
      mintSigner: signer.address,
    });
    await approve(payer, small);
    for (let i = 0; i < 2; i++) {
      await mined(c.publicClient, await c.walletFor(payer).writeContract((await simulateMint({ at: small })).request));
    }
    expect(await read('mintCount', small)).toBe(2n);
    expect(await read('remainingMints', small)).toBe(0n);
    const capped = await revertOf(simulateMint({ at: small }));
    expect(capped.errorName).toBe('MintCapReached');
    expect(capped.args).toEqual([2n]);
    expect(await read('totalSupply', small)).toBe(2n);
  });

  it('refuses while paused; only the owner pauses and changes the signer', async () => {
    const asOwner = c.walletFor(owner);
    const byPayer = c.publicClient.simulateContract({
      account: payer,
      address: token,
      abi: paidMintTokenAbi,
      functionName: 'pause',
    });
    expect((await revertOf(byPayer)).errorName).toBe('OwnableUnauthorizedAccount');
    const setSigner = c.publicClient.simulateContract({
      account: payer,
      address: token,
      abi: paidMintTokenAbi,
      functionName: 'setMintSigner',
      args: [payer.address],
    });
    expect((await revertOf(setSigner)).errorName).toBe('OwnableUnauthorizedAccount');

    await mined(
      c.publicClient,
      await asOwner.writeContract({ address: token, abi: paidMintTokenAbi, functionName: 'pause' }),
    );
    try {
      expect((await revertOf(simulateMint())).errorName).toBe('EnforcedPause');
    } finally {
      await mined(
        c.publicClient,
        await asOwner.writeContract({ address: token, abi: paidMintTokenAbi, functionName: 'unpause' }),
      );
    }
    await simulateMint();
  });
});
