import { beforeAll, describe, expect, it } from 'vitest';
import { parseEventLogs, parseUnits, type Address } from 'viem';
import { testUSDCAbi } from '@/lib/chain/contracts.generated';
import { anvilAccount } from '@/scripts/local/anvil';
import { useTestStack } from '@/test/support/use-test-stack';
import { chainClients, mined, randomNonce, revertOf } from './chain-helpers';
import { signAuthorization, signCancel, vrs, type Authorization } from './usdc-auth';

let c: ReturnType<typeof chainClients>;
let usdc: Address;
const payer = anvilAccount(1);
const payee = anvilAccount(2);
const relayer = anvilAccount(3);
const stranger = anvilAccount(4);

const balanceOf = (account: Address) =>
  c.publicClient.readContract({ address: usdc, abi: testUSDCAbi, functionName: 'balanceOf', args: [account] });
const used = (authorizer: Address, nonce: `0x${string}`) =>
  c.publicClient.readContract({
    address: usdc,
    abi: testUSDCAbi,
    functionName: 'authorizationState',
    args: [authorizer, nonce],
  });
const latest = async () => (await c.publicClient.getBlock()).timestamp;

async function authorization(overrides: Partial<Authorization> = {}): Promise<Authorization> {
  const now = await latest();
  return {
    from: payer.address,
    to: payee.address,
    value: parseUnits('1.5', 6),
    validAfter: 0n,
    validBefore: now + 3600n,
    nonce: randomNonce(),
    ...overrides,
  };
}

const args = (a: Authorization) => [a.from, a.to, a.value, a.validAfter, a.validBefore, a.nonce] as const;

/** Simulates transferWithAuthorization (bytes overload) from the relayer. */
const simulateTransfer = (a: Authorization, signature: `0x${string}`) =>
  c.publicClient.simulateContract({
    account: relayer,
    address: usdc,
    abi: testUSDCAbi,
    functionName: 'transferWithAuthorization',
    args: [...args(a), signature],
  });

const stack = useTestStack();

beforeAll(() => {
  c = chainClients(stack.anvil.url);
  usdc = stack.deployment.usdc;
});

describe('TestUSDC basics', () => {
  it('looks like Circle USDC: name, version, 6 decimals, owner-only mint', async () => {
    const read = <F extends 'name' | 'symbol' | 'decimals' | 'version'>(functionName: F) =>
      c.publicClient.readContract({ address: usdc, abi: testUSDCAbi, functionName });
    expect([await read('name'), await read('symbol'), await read('decimals'), await read('version')]).toEqual([
      'USD Coin',
      'USDC',
      6,
      '2',
    ]);
    expect(await balanceOf(payer.address)).toBe(parseUnits('10000', 6));
    const refused = await revertOf(
      c.publicClient.simulateContract({
        account: stranger,
        address: usdc,
        abi: testUSDCAbi,
        functionName: 'mint',
        args: [stranger.address, 1n],
      }),
    );
    expect(refused.errorName).toBe('OwnableUnauthorizedAccount');
  });
});

describe('transferWithAuthorization', () => {
  it.each(['bytes', 'v,r,s'] as const)(
    'moves exactly the value and marks the nonce used (%s overload)',
    async (form) => {
      const terms = await authorization();
      const signature = await signAuthorization(payer, usdc, 'TransferWithAuthorization', terms);
      const [fromBefore, toBefore, relayerBefore] = [
        await balanceOf(payer.address),
        await balanceOf(payee.address),
        await balanceOf(relayer.address),
      ];
      expect(await used(payer.address, terms.nonce)).toBe(false);

      const wallet = c.walletFor(relayer);
      const { v, r, s } = vrs(signature);
      const hash =
        form === 'bytes'
          ? await wallet.writeContract({
              address: usdc,
              abi: testUSDCAbi,
              functionName: 'transferWithAuthorization',
              args: [...args(terms), signature],
            })
          : await wallet.writeContract({
              address: usdc,
              abi: testUSDCAbi,
              functionName: 'transferWithAuthorization',
              args: [...args(terms), v, r, s],
            });
      const receipt = await mined(c.publicClient, hash);

      expect(await balanceOf(payer.address)).toBe(fromBefore - terms.value);
      expect(await balanceOf(payee.address)).toBe(toBefore + terms.value);
      expect(await balanceOf(relayer.address)).toBe(relayerBefore);
      expect(await used(payer.address, terms.nonce)).toBe(true);
      const [usedEvent] = parseEventLogs({ abi: testUSDCAbi, logs: receipt.logs, eventName: 'AuthorizationUsed' });
      expect(usedEvent?.args).toEqual({ authorizer: payer.address, nonce: terms.nonce });
      const [transfer] = parseEventLogs({ abi: testUSDCAbi, logs: receipt.logs, eventName: 'Transfer' });
      expect(transfer?.args).toEqual({ from: payer.address, to: payee.address, value: terms.value });
    },
  );

  it('refuses a replay of a used authorization and moves nothing', async () => {
    const terms = await authorization();
    const signature = await signAuthorization(payer, usdc, 'TransferWithAuthorization', terms);
    await mined(
      c.publicClient,
      await c.walletFor(relayer).writeContract((await simulateTransfer(terms, signature)).request),
    );
    const before = await balanceOf(payer.address);
    expect((await revertOf(simulateTransfer(terms, signature))).reason).toBe(
      'FiatTokenV2: authorization is used or canceled',
    );
    const { v, r, s } = vrs(signature);
    const viaVrs = c.publicClient.simulateContract({
      account: stranger,
      address: usdc,
      abi: testUSDCAbi,
      functionName: 'transferWithAuthorization',
      args: [...args(terms), v, r, s],
    });
    expect((await revertOf(viaVrs)).reason).toBe('FiatTokenV2: authorization is used or canceled');
    expect(await balanceOf(payer.address)).toBe(before);
  });

  it('refuses a signature by anyone but `from`', async () => {
    const terms = await authorization();
    const signature = await signAuthorization(stranger, usdc, 'TransferWithAuthorization', terms);
    expect((await revertOf(simulateTransfer(terms, signature))).reason).toBe('FiatTokenV2: invalid signature');
  });

  it('refuses a tampered value, recipient or window', async () => {
    const terms = await authorization();
    const signature = await signAuthorization(payer, usdc, 'TransferWithAuthorization', terms);
    for (const tampered of [
      { value: terms.value + 1n },
      { to: stranger.address },
      { validBefore: terms.validBefore + 1n },
      { nonce: randomNonce() },
    ]) {
      expect((await revertOf(simulateTransfer({ ...terms, ...tampered }, signature))).reason).toBe(
        'FiatTokenV2: invalid signature',
      );
    }
    expect(await used(payer.address, terms.nonce)).toBe(false);
  });

  it("refuses a ReceiveWithAuthorization signature (the seed note's mismatch never verifies)", async () => {
    const terms = await authorization();
    const receiveSig = await signAuthorization(payer, usdc, 'ReceiveWithAuthorization', terms);
    expect((await revertOf(simulateTransfer(terms, receiveSig))).reason).toBe('FiatTokenV2: invalid signature');
  });

  it('refuses a value above the balance with the ERC20 error', async () => {
    const terms = await authorization({ value: (await balanceOf(payer.address)) + 1n });
    const signature = await signAuthorization(payer, usdc, 'TransferWithAuthorization', terms);
    expect((await revertOf(simulateTransfer(terms, signature))).errorName).toBe('ERC20InsufficientBalance');
  });
});

describe('time window', () => {
  it('is not valid at validAfter, valid one second later', async () => {
    const start = (await latest()) + 100n;
    const terms = await authorization({ validAfter: start, validBefore: start + 3600n });
    const signature = await signAuthorization(payer, usdc, 'TransferWithAuthorization', terms);
    expect((await revertOf(simulateTransfer(terms, signature))).reason).toBe(
      'FiatTokenV2: authorization is not yet valid',
    );

    const wallet = c.walletFor(relayer);
    const send = () =>
      wallet.writeContract({
        address: usdc,
        abi: testUSDCAbi,
        functionName: 'transferWithAuthorization',
        args: [...args(terms), signature],
        gas: 200_000n,
      });
    await c.rpc('evm_setNextBlockTimestamp', [Number(start)]);
    const early = await c.publicClient.waitForTransactionReceipt({ hash: await send() });
    expect(early.status).toBe('reverted');
    expect(await used(payer.address, terms.nonce)).toBe(false);

    await c.rpc('evm_setNextBlockTimestamp', [Number(start) + 1]);
    const onTime = await c.publicClient.waitForTransactionReceipt({ hash: await send() });
    expect(onTime.status).toBe('success');
    expect(await used(payer.address, terms.nonce)).toBe(true);
  });

  it('is expired at validBefore', async () => {
    const end = (await latest()) + 60n;
    const terms = await authorization({ validBefore: end });
    const signature = await signAuthorization(payer, usdc, 'TransferWithAuthorization', terms);
    await simulateTransfer(terms, signature);
    await c.rpc('evm_setNextBlockTimestamp', [Number(end)]);
    await c.rpc('evm_mine');
    expect(await latest()).toBe(end);
    expect((await revertOf(simulateTransfer(terms, signature))).reason).toBe('FiatTokenV2: authorization is expired');
  });
});

describe('receiveWithAuthorization', () => {
  it('refuses any caller but the payee, then works for the payee', async () => {
    const terms = await authorization();
    const signature = await signAuthorization(payer, usdc, 'ReceiveWithAuthorization', terms);
    const call = (account: typeof payee) =>
      c.publicClient.simulateContract({
        account,
        address: usdc,
        abi: testUSDCAbi,
        functionName: 'receiveWithAuthorization',
        args: [...args(terms), signature],
      });
    expect((await revertOf(call(relayer))).reason).toBe('FiatTokenV2: caller must be the payee');
    expect((await revertOf(call(payer))).reason).toBe('FiatTokenV2: caller must be the payee');

    const transferSig = await signAuthorization(payer, usdc, 'TransferWithAuthorization', terms);
    const wrongType = c.publicClient.simulateContract({
      account: payee,
      address: usdc,
      abi: testUSDCAbi,
      functionName: 'receiveWithAuthorization',
      args: [...args(terms), transferSig],
    });
    expect((await revertOf(wrongType)).reason).toBe('FiatTokenV2: invalid signature');

    const before = [await balanceOf(payer.address), await balanceOf(payee.address)];
    const { v, r, s } = vrs(signature);
    const hash = await c.walletFor(payee).writeContract({
      address: usdc,
      abi: testUSDCAbi,
      functionName: 'receiveWithAuthorization',
      args: [...args(terms), v, r, s],
    });
    const receipt = await mined(c.publicClient, hash);
    expect([await balanceOf(payer.address), await balanceOf(payee.address)]).toEqual([
      before[0]! - terms.value,
      before[1]! + terms.value,
    ]);
    expect(parseEventLogs({ abi: testUSDCAbi, logs: receipt.logs, eventName: 'AuthorizationUsed' })).toHaveLength(1);
    expect((await revertOf(call(payee))).reason).toBe('FiatTokenV2: authorization is used or canceled');
  });
});

describe('cancelAuthorization', () => {
  it('cancels an unused nonce so the authorization can never be used', async () => {
    const terms = await authorization();
    const signature = await signAuthorization(payer, usdc, 'TransferWithAuthorization', terms);
    const cancelSig = await signCancel(payer, usdc, { authorizer: payer.address, nonce: terms.nonce });

    const forged = await signCancel(stranger, usdc, { authorizer: payer.address, nonce: terms.nonce });
    const forgedCall = c.publicClient.simulateContract({
      account: stranger,
      address: usdc,
      abi: testUSDCAbi,
      functionName: 'cancelAuthorization',
      args: [payer.address, terms.nonce, forged],
    });
    expect((await revertOf(forgedCall)).reason).toBe('FiatTokenV2: invalid signature');

    const { v, r, s } = vrs(cancelSig);
    const hash = await c.walletFor(relayer).writeContract({
      address: usdc,
      abi: testUSDCAbi,
      functionName: 'cancelAuthorization',
      args: [payer.address, terms.nonce, v, r, s],
    });
    const receipt = await mined(c.publicClient, hash);
    const [canceled] = parseEventLogs({ abi: testUSDCAbi, logs: receipt.logs, eventName: 'AuthorizationCanceled' });
    expect(canceled?.args).toEqual({ authorizer: payer.address, nonce: terms.nonce });
    expect(await used(payer.address, terms.nonce)).toBe(true);

    expect((await revertOf(simulateTransfer(terms, signature))).reason).toBe(
      'FiatTokenV2: authorization is used or canceled',
    );
    const again = c.publicClient.simulateContract({
      account: relayer,
      address: usdc,
      abi: testUSDCAbi,
      functionName: 'cancelAuthorization',
      args: [payer.address, terms.nonce, cancelSig],
    });
    expect((await revertOf(again)).reason).toBe('FiatTokenV2: authorization is used or canceled');
  });
});
