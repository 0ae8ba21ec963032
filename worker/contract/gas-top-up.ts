import { getOperatorAccount } from '@/lib/chain/clients';
import type { Fees } from '@/lib/chain/fees';
import { withOperatorNonce } from '@/lib/chain/operator-send';
import { contractTaskGasWei, ensureAgentGas, TOP_UP_GAS, type OperatorSend } from '@/lib/wallets/gas-topup';
import { keccak, nativeAccount } from '@/lib/chain/native-crypto';
import { assertLease, leaseCheck } from '../fence';
import { rawRequest } from '../rpc';
import type { TaskRuntime } from './runtime';

/**
 * The operator's gas top-up as the worker sends it: a plain transfer built here with the fees
 * the worker just quoted, under the operator's nonce lock (shared with the web processes). The
 * transfer is signed with libsecp256k1 and sent through the worker's client. viem's wallet
 * client asks the node for the chain id, fees and a gas estimate first, each over fetch: at the
 * start of every task that was ~10 ms before the first mint could be signed.
 */
function operatorSend(rt: TaskRuntime, fees: Fees): OperatorSend {
  const { client, chainId } = rt;
  const account = getOperatorAccount(nativeAccount);
  return (to, value) =>
    withOperatorNonce(
      async (nonce) => {
        // Proven by the lock's own statement (leaseCheck below) unless that lock was long in coming.
        await assertLease(rt);
        const raw = await account.signTransaction({
          type: 'eip1559',
          chainId,
          to,
          value,
          gas: TOP_UP_GAS,
          nonce,
          ...fees,
        });
        await rawRequest(client, 'eth_sendRawTransaction', [raw]);
        return keccak(raw);
      },
      client,
      { lease: () => leaseCheck(rt) },
    );
}

/** Tops the task's agent up if its `balance` is short of `neededWei`, for the rest of the task (lib/wallets/gas-topup.ts rules), and reports it. */
export async function topUpAgentGas(
  rt: TaskRuntime,
  { balance, inFlightWei, neededWei, fees }: { balance: bigint; inFlightWei?: bigint; neededWei: bigint; fees: Fees },
) {
  const send = operatorSend(rt, fees);
  // Until this top-up, if one is sent, is known mined (an error leaves it unknown for the run).
  const noTopUpInFlight = rt.noTopUpInFlight;
  rt.noTopUpInFlight = false;
  const topUp = await ensureAgentGas({
    userAddress: rt.task.userAddress,
    taskId: rt.task.id,
    agent: rt.task.agentAddress,
    balance,
    inFlightWei,
    noTopUpInFlight,
    neededWei,
    wantedWei: contractTaskGasWei({
      remaining: rt.task.quantity - rt.task.mintsCompleted,
      maxFeePerGas: fees.maxFeePerGas,
      gasPerMint: rt.gasPerMint,
    }),
    client: rt.client,
    send,
  });
  rt.noTopUpInFlight = noTopUpInFlight;
  if (topUp) rt.reporter.gasToppedUp(rt.task, topUp.amountWei, topUp.txHash);
  return topUp;
}
