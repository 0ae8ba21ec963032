import { encodeFunctionData, type Address, type Hex } from 'viem';
import { getChain, getOperatorAccount, getPublicClient } from '../chain/clients';
import { testUSDCAbi } from '../chain/contracts.generated';
import { feesOf, quoteFees, type Fees } from '../chain/fees';
import { withOperatorNonce } from '../chain/operator-send';
import { getConfig } from '../config';
import { prepareEarlyTopUp, recordEarlyTopUp, releaseEarlyTopUp, type EarlyTopUp } from './early-top-up';

export type TransferWithAuthorizationArgs = readonly [Address, Address, bigint, bigint, bigint, Hex, Hex];

export type PreparedFunding = { usdc: Address; data: Hex; gas: bigint; fees: Fees };

/**
 * Everything the operator's transferWithAuthorization needs but its nonce: its gas, estimated on
 * the pending block (so a revert, such as "authorization is used" by a transfer still in the
 * node's pool, surfaces here with its reason, before anything is recorded or sent), and fees
 * (the early top-up's quote when there is one). Asked for before the operator's nonce lock:
 * every operator sender of every process queues for that lock, so it covers only the nonce
 * read, the signing and the broadcast.
 */
export async function prepareFundingTransfer({
  usdc,
  args,
  fees,
}: {
  usdc: Address;
  args: TransferWithAuthorizationArgs;
  fees?: Fees;
}): Promise<PreparedFunding> {
  const client = getPublicClient();
  const [gas, quoted] = await Promise.all([
    client.estimateContractGas({
      account: getOperatorAccount().address,
      address: usdc,
      abi: testUSDCAbi,
      functionName: 'transferWithAuthorization',
      args,
      // A local chain mines only on demand, so its latest block may be hours old.
      blockTag: 'pending',
    }),
    fees ?? quoteFees(client, { maxFeeGwei: getConfig().worker.maxFeeGwei }).then(feesOf),
  ]);
  const data = encodeFunctionData({ abi: testUSDCAbi, functionName: 'transferWithAuthorization', args });
  return { usdc, data, gas, fees: quoted };
}

/**
 * Submits the prepared transferWithAuthorization from the operator and, right behind it on the
 * next nonce and under the same lock, the agent's early gas top-up. Resolves with the funding
 * transfer's hash once the node has it. When the transfer is not sent, neither is the top-up.
 */
export async function sendFundingTransfer(prepared: PreparedFunding, topUp?: EarlyTopUp): Promise<Hex> {
  const operator = getOperatorAccount();
  const client = getPublicClient();
  let sent;
  try {
    sent = await withOperatorNonce(async (nonce) => {
      const broadcastTopUp = topUp && (await prepareEarlyTopUp(topUp, nonce + 1));
      const raw = await operator.signTransaction({
        type: 'eip1559',
        chainId: getChain().id,
        to: prepared.usdc,
        data: prepared.data,
        gas: prepared.gas,
        nonce,
        ...prepared.fees,
      });
      const txHash = await client.sendRawTransaction({ serializedTransaction: raw });
      return { txHash, topUp: await broadcastTopUp?.() };
    }, client);
  } catch (error) {
    await releaseEarlyTopUp(topUp);
    throw error;
  }
  if (topUp && sent.topUp) await recordEarlyTopUp(topUp, sent.topUp);
  return sent.txHash;
}
