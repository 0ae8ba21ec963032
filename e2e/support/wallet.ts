import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext } from 'playwright';
import { numberToHex, type Hex, type TypedDataDefinition } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';

const here = path.dirname(fileURLToPath(import.meta.url));
export const TEST_WALLET_SCRIPT = path.join(here, '..', 'test-wallet.js');
const MNEMONIC = 'test test test test test test test test test test test junk';

export const testAccount = (index: number) => mnemonicToAccount(MNEMONIC, { addressIndex: index });

type TypedField = { name: string; type: string };

/** JSON typed data from eth_signTypedData_v4 → what viem signs: ints as bigint, no EIP712Domain. */
function toViemTypedData(json: string): TypedDataDefinition {
  const data = JSON.parse(json) as {
    domain: Record<string, unknown>;
    types: Record<string, TypedField[]>;
    primaryType: string;
    message: Record<string, unknown>;
  };
  const { EIP712Domain: _omit, ...types } = data.types;
  const convert = (typeName: string, value: Record<string, unknown>): Record<string, unknown> =>
    Object.fromEntries(
      (types[typeName] ?? []).map((f) => {
        const fieldValue = value[f.name];
        if (/^u?int\d*$/.test(f.type)) return [f.name, BigInt(fieldValue as string)];
        if (types[f.type]) return [f.name, convert(f.type, fieldValue as Record<string, unknown>)];
        return [f.name, fieldValue];
      }),
    );
  const domain = {
    ...data.domain,
    ...(data.domain.chainId !== undefined ? { chainId: Number(data.domain.chainId) } : {}),
  };
  return {
    domain,
    types,
    primaryType: data.primaryType,
    message: convert(data.primaryType, data.message),
  } as unknown as TypedDataDefinition;
}

export type WalletOptions = { accountIndex: number; rpcUrl: string; chainId: number };

/**
 * Installs the injected test wallet in every page of the context, signing as anvil account
 * `accountIndex`. Reads it cannot answer itself go to the test anvil.
 */
export async function installTestWallet(context: BrowserContext, { accountIndex, rpcUrl, chainId }: WalletOptions) {
  const account = testAccount(accountIndex);
  await context.exposeFunction('__testWalletConfig', () => ({
    address: account.address,
    chainId: numberToHex(chainId),
  }));
  await context.exposeFunction(
    '__testWalletSign',
    async (req: { kind: 'message' | 'typedData'; data: string }): Promise<Hex> => {
      if (req.kind === 'message') return account.signMessage({ message: { raw: req.data as Hex } });
      return account.signTypedData(toViemTypedData(req.data));
    },
  );
  await context.exposeFunction('__testWalletRpc', async (method: string, params: unknown[]) => {
    const res = await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    });
    const body = (await res.json()) as { result?: unknown; error?: { code: number; message: string } };
    if (body.error) throw new Error(body.error.message);
    return body.result;
  });
  await context.addInitScript({ path: TEST_WALLET_SCRIPT });
  return account;
}
