import {
  encodeAbiParameters,
  encodeFunctionData,
  hashTypedData,
  keccak256,
  parseSignature,
  parseTransaction,
  recoverTransactionAddress,
  serializeTransaction,
  type Hex,
} from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { authorizerFor, encodeMintCall, MINT_TYPES, mintDigest } from '@/lib/chain/mint-signature';
import { paidMintTokenAbi } from '@/lib/chain/contracts.generated';
import { domainSeparator } from 'viem';
import { mintIdOf } from '@/lib/chain/mint-id';
import { keccak, nativeAccount, nativeSigning } from '@/lib/chain/native-crypto';

// The worker's libsecp256k1 account must be indistinguishable from viem's: same address, and
// byte-identical signatures (both are RFC 6979 deterministic, low-s).

describe('native signing account', () => {
  it('loads the prebuilt libsecp256k1 addon on this platform', () => {
    expect(nativeSigning).toBe(true);
  });

  it('hashes exactly as viem does, and mintIds equal keccak256(abi.encode(bytes16 taskId, uint256 seq))', () => {
    for (const size of [0, 1, 31, 32, 64, 135, 136, 137, 300, 1000]) {
      const data =
        `0x${Array.from({ length: size }, (_, i) => ((i * 37 + size) % 256).toString(16).padStart(2, '0')).join('')}` as Hex;
      expect(keccak(data)).toBe(keccak256(data));
    }
    const taskId = '0e6f2b8c-4c1a-4f6e-9d3b-7a2c5e8f9b10';
    for (const seq of [0, 1, 255, 256, 65_535, 2 ** 40]) {
      const expected = keccak256(
        encodeAbiParameters([{ type: 'bytes16' }, { type: 'uint256' }], [`0x${taskId.replace(/-/g, '')}`, BigInt(seq)]),
      );
      expect(mintIdOf(taskId, seq)).toBe(expected);
      expect(mintIdOf(taskId, seq, keccak)).toBe(expected);
      // Without hyphens, in capitals: the same 16 bytes.
      expect(mintIdOf(taskId.replaceAll('-', '').toUpperCase(), seq, keccak)).toBe(expected);
    }
    expect(mintIdOf(taskId, Number.MAX_SAFE_INTEGER, keccak)).toBe(
      keccak256(
        encodeAbiParameters(
          [{ type: 'bytes16' }, { type: 'uint256' }],
          [`0x${taskId.replace(/-/g, '')}`, BigInt(Number.MAX_SAFE_INTEGER)],
        ),
      ),
    );
    for (const [id, seq] of [
      ['0e6f2b8c-4c1a-4f6e-9d3b-7a2c5e8f9b1', 1],
      ['0e6f2b8c-4c1a-4f6e-9d3b-7a2c5e8f9b1g', 1],
      [taskId, -1],
      [taskId, 1.5],
      [taskId, 2 ** 53],
    ] as const)
      expect(() => mintIdOf(id, seq, keccak)).toThrow();
    // Bytes in, as viem's keccak256 takes them too.
    const bytes = new Uint8Array([1, 2, 3, 255]);
    expect(keccak(bytes)).toBe(keccak256(bytes));
  });

  it('signs exactly what viem signs: transactions, typed data, messages, raw hashes', async () => {
    for (let i = 0; i < 20; i++) {
      const key = generatePrivateKey();
      const [ours, viems] = [nativeAccount(key), privateKeyToAccount(key)];
      expect(ours.address).toBe(viems.address);
      expect(ours.publicKey).toBe(viems.publicKey);
      const tx = {
        type: 'eip1559',
        chainId: 8453,
        to: viems.address,
        data: `0x${'ab'.repeat(i * 7)}` as Hex,
        nonce: i,
        gas: 200_000n,
        maxFeePerGas: 2_000_000_000n + BigInt(i),
        maxPriorityFeePerGas: 1_000_000n,
        value: 0n,
      } as const;
      expect(await ours.signTransaction(tx)).toBe(await viems.signTransaction(tx));
      const legacy = {
        type: 'legacy',
        chainId: 1,
        to: viems.address,
        nonce: i,
        gas: 21_000n,
        gasPrice: 1n,
        value: BigInt(i),
      } as const;
      expect(await ours.signTransaction(legacy)).toBe(await viems.signTransaction(legacy));
      const typed = {
        domain: { name: 'T', version: '1', chainId: 1, verifyingContract: viems.address },
        types: MINT_TYPES,
        primaryType: 'Mint',
        message: { payer: viems.address, to: viems.address, mintId: key },
      } as const;
      expect(await ours.signTypedData(typed)).toBe(await viems.signTypedData(typed));
      expect(await ours.signMessage({ message: `hello ${i}` })).toBe(
        await viems.signMessage({ message: `hello ${i}` }),
      );
      expect(await ours.sign!({ hash: key })).toBe(await viems.sign!({ hash: key }));
      // EIP-7702 authorizations (the batch executor's delegation), and a type-4 transaction carrying one.
      const authorization = { address: viems.address, chainId: 8453, nonce: i + 1 };
      const signed = await ours.signAuthorization!(authorization);
      expect(signed).toEqual(await viems.signAuthorization!(authorization));
      const type4 = { ...tx, type: 'eip7702', authorizationList: [signed] } as const;
      expect(await ours.signTransaction(type4)).toBe(await viems.signTransaction(type4));
    }
  });

  it('serializes and signs EIP-1559 and EIP-7702 transactions exactly as viem does, leading zero bytes of r and s too', async () => {
    // Our EIP-1559 RLP and the signature appended to the unsigned list: the signed form is checked
    // against viem's serializer for the same signature, over enough signatures that r and s each
    // start with a zero byte.
    const account = nativeAccount(generatePrivateKey());
    const seen = { r: false, s: false, long: false, short: false };
    for (let nonce = 0; nonce < 20_000 && !(seen.r && seen.s); nonce++) {
      const data = `0x${'cd'.repeat(nonce % 3 === 0 ? 0 : nonce % 3 === 1 ? 20 : 2_000)}` as Hex;
      // Zero and non-zero nonce, value and tip, no `to` now and then (a creation): each field as viem writes it.
      const base = {
        chainId: 31337,
        ...(nonce % 6 === 3 ? {} : { to: account.address }),
        data,
        nonce,
        gas: 1_000_000n,
        value: BigInt(nonce % 5) * 10n ** 18n,
      };
      const fees = { maxFeePerGas: 3n + BigInt(nonce), maxPriorityFeePerGas: BigInt(nonce % 4 === 1 ? 0 : 1) };
      const tx =
        nonce % 2
          ? ({ ...base, ...fees, type: 'eip1559' } as const)
          : ({ ...base, ...fees, type: 'eip7702', authorizationList: [] } as const);
      const signed = await account.signTransaction(tx);
      const { r, s, yParity } = parseTransaction(signed);
      expect(signed).toBe(serializeTransaction(tx, { r: r!, s: s!, yParity: yParity! }));
      const [zeroR, zeroS] = [r!.startsWith('0x00'), s!.startsWith('0x00')];
      if (zeroR || zeroS || nonce < 3)
        expect(await recoverTransactionAddress({ serializedTransaction: signed as never })).toBe(account.address);
      seen.r ||= zeroR;
      seen.s ||= zeroS;
      seen[data.length > 100 ? 'long' : 'short'] = true;
    }
    expect(seen).toEqual({ r: true, s: true, long: true, short: true });
  });

  it('hashes a mint authorization exactly as hashTypedData does', () => {
    const [a, b] = [
      privateKeyToAccount(generatePrivateKey()).address,
      privateKeyToAccount(generatePrivateKey()).address,
    ];
    const domain = { name: 'Agent Mint Token', version: '1', chainId: 31337, verifyingContract: a } as const;
    for (const mintId of [generatePrivateKey(), `0x${'00'.repeat(32)}` as Hex, `0x${'ff'.repeat(32)}` as Hex]) {
      const message = { payer: a, to: b, mintId };
      const expected = hashTypedData({ domain, types: MINT_TYPES, primaryType: 'Mint', message });
      expect(mintDigest(domainSeparator({ domain }), message)).toBe(expected);
      expect(mintDigest(domainSeparator({ domain }), message, keccak)).toBe(expected);
      const lower = {
        payer: a.toLowerCase() as Hex,
        to: b.toLowerCase() as Hex,
        mintId: mintId.toUpperCase().replace('0X', '0x') as Hex,
      };
      expect(mintDigest(domainSeparator({ domain }), lower, keccak)).toBe(expected);
    }
    // Written as bytes: anything that is not whole hex of the right size is refused, not truncated.
    const separator = domainSeparator({ domain });
    for (const bad of [
      { payer: a.slice(0, -1) as Hex, to: b, mintId: generatePrivateKey() },
      { payer: a, to: `${b.slice(0, -1)}g` as Hex, mintId: generatePrivateKey() },
      { payer: a, to: b, mintId: `${generatePrivateKey()}00` as Hex },
    ])
      expect(() => mintDigest(separator, bad, keccak)).toThrow();
    expect(() => mintDigest('0x1234', { payer: a, to: b, mintId: generatePrivateKey() }, keccak)).toThrow();
  });

  it('builds mint authorizations and mint call data exactly as viem does', async () => {
    for (let i = 0; i < 10; i++) {
      const key = generatePrivateKey();
      const [payer, user] = [
        privateKeyToAccount(generatePrivateKey()).address,
        privateKeyToAccount(generatePrivateKey()).address,
      ];
      const token = { address: payer, name: 'Agent Mint Token', chainId: 31337 };
      const mintId = keccak256(key);
      for (const account of [nativeAccount(key), privateKeyToAccount(key)]) {
        const auth = await authorizerFor(account, token, keccak).sign({ payer, to: user, mintId });
        const typed = await privateKeyToAccount(key).signTypedData({
          domain: { name: token.name, version: '1', chainId: token.chainId, verifyingContract: token.address },
          types: MINT_TYPES,
          primaryType: 'Mint',
          message: { payer, to: user, mintId },
        });
        const { r, s, v } = parseSignature(typed);
        expect(auth).toEqual({ r, s, v: Number(v) });
        expect(encodeMintCall(user, mintId, auth)).toBe(
          encodeFunctionData({
            abi: paidMintTokenAbi,
            functionName: 'mint',
            args: [user, mintId, auth.v, auth.r, auth.s],
          }),
        );
      }
    }
  });

  it('writes mint call data as viem does for any case of hex, and leaves what it cannot write to viem', () => {
    const to = privateKeyToAccount(generatePrivateKey()).address;
    const [mintId, r, s] = [generatePrivateKey(), generatePrivateKey(), generatePrivateKey()];
    const viem = (v: number) =>
      encodeFunctionData({ abi: paidMintTokenAbi, functionName: 'mint', args: [to, mintId, v, r, s] });
    const upper = (hex: Hex) => `0x${hex.slice(2).toUpperCase()}` as Hex;
    for (const v of [0, 1, 27, 28, 255])
      expect(encodeMintCall(to.toLowerCase() as Hex, upper(mintId), { v, r: upper(r), s })).toBe(viem(v));
    // Out of range or malformed: viem's encoder, which refuses them.
    expect(() => encodeMintCall(to, mintId, { v: 256, r, s })).toThrow();
    expect(() => encodeMintCall(to, mintId, { v: 27, r: `${r}00` as Hex, s })).toThrow();
    expect(() => encodeMintCall(`${to.slice(0, -1)}z` as Hex, mintId, { v: 27, r, s })).toThrow();
  });
});
