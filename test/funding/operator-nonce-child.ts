// A second process for the operator nonce lock test: takes the operator's nonce, sends one
// transfer with it, says so on stdout, then keeps the lock for `holdMs`. Env comes from the test stack.
import { closeDb } from '@/db/client';
import { getOperatorWalletClient } from '@/lib/chain/clients';
import { withOperatorNonce } from '@/lib/chain/operator-send';

const { to, holdMs } = JSON.parse(process.argv[2]!) as { to: `0x${string}`; holdMs: number };
await withOperatorNonce(async (nonce) => {
  const hash = await getOperatorWalletClient().sendTransaction({ to, value: 1n, nonce, gas: 21_000n });
  console.log(JSON.stringify({ nonce, hash }));
  await new Promise((r) => setTimeout(r, holdMs));
});
console.log(JSON.stringify({ released: Date.now() }));
await closeDb();
