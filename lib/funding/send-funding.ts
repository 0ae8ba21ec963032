import type { Address, Hex } from 'viem';
import { testUSDCAbi } from '../chain/contracts.generated';
import { withOperatorNonce, writeAsOperator } from '../chain/operator-send';
import { prepareEarlyTopUp, recordEarlyTopUp, releaseEarlyTopUp, type EarlyTopUp } from './early-top-up';

export type TransferWithAuthorizationArgs = readonly [Address, Address, bigint, bigint, bigint, Hex, Hex];

/**
 * Submits the user's transferWithAuthorization from the operator and, right behind it on the
 * next nonce and under the same lock, the agent's early gas top-up. Resolves with the funding
 * transfer's hash once the node has it. When the transfer is not sent, neither is the top-up.
 */
export async function sendFundingTransfer({
  usdc,
  args,
  topUp,
}: {
  usdc: Address;
  args: TransferWithAuthorizationArgs;
  topUp?: EarlyTopUp;
}): Promise<Hex> {
  let sent;
  try {
    sent = await withOperatorNonce(async (nonce) => {
      const broadcastTopUp = topUp && (await prepareEarlyTopUp(topUp, nonce + 1));
      const txHash = await writeAsOperator(
        { address: usdc, abi: testUSDCAbi, functionName: 'transferWithAuthorization', args },
        nonce,
      );
      return { txHash, topUp: await broadcastTopUp?.() };
    });
  } catch (error) {
    await releaseEarlyTopUp(topUp);
    throw error;
  }
  if (topUp && sent.topUp) await recordEarlyTopUp(topUp, sent.topUp);
  return sent.txHash;
}
