import { getAddress, type Address, type Hex } from 'viem';
import { getTaskById } from '@/db/tasks';
import { fundTask } from '@/lib/tasks/fund-task';
import { createMintTask } from '@/lib/tasks/create-task';
import { getFundingRequest } from '@/lib/tasks/funding-request';
import { anvilAccount } from '../local/anvil';

/**
 * Users funding tasks over time, through the same lib calls the chat and fund routes make
 * (createMintTask checks the token on chain; fundTask verifies the EIP-3009 signature and has
 * the operator submit it). A step that fails (the database restarting) is retried with the same
 * authorization, as a browser would post it again.
 */
export class Traffic {
  readonly taskIds: string[] = [];
  private stopped = false;
  private readonly running: Promise<void>[] = [];

  constructor(
    private readonly tokens: Address[],
    private readonly random: () => number,
    private readonly users = [1, 2, 3, 4, 5, 6],
  ) {}

  /** Starts one new task every `everyMs` until `stop()`. */
  run(everyMs: number, quantity: { min: number; max: number }) {
    const loop = async () => {
      while (!this.stopped) {
        const userIndex = this.users[Math.floor(this.random() * this.users.length)]!;
        const token = this.tokens[Math.floor(this.random() * this.tokens.length)]!;
        const n = quantity.min + Math.floor(this.random() * (quantity.max - quantity.min + 1));
        this.running.push(
          this.fundOne(userIndex, token, n).catch((error) =>
            console.error(`chaos: a user's task could not be funded: ${(error as Error).message}`),
          ),
        );
        await new Promise((r) => setTimeout(r, everyMs));
      }
    };
    this.running.push(loop());
  }

  async stop() {
    this.stopped = true;
    await Promise.all(this.running);
  }

  private async fundOne(userIndex: number, token: Address, quantity: number) {
    const account = anvilAccount(userIndex);
    const task = await retry(() => createMintTask({ userAddress: account.address, tokenAddress: token, quantity }));
    this.taskIds.push(task.id);
    const request = (await retry(() => getFundingRequest(task)))!;
    const m = request.message;
    const authorization = {
      from: getAddress(m.from),
      to: getAddress(m.to),
      value: BigInt(m.value),
      validAfter: BigInt(m.validAfter),
      validBefore: BigInt(m.validBefore),
      nonce: m.nonce,
    };
    const signature: Hex = await account.signTypedData({
      domain: request.domain,
      types: request.types,
      primaryType: request.primaryType,
      message: authorization,
    });
    await retry(async () => {
      const current = await getTaskById({ id: task.id });
      if (current?.status !== 'pending_payment') return; // funded by an earlier try whose answer was lost
      await fundTask({ taskId: task.id, authorization, signature });
    });
  }
}

async function retry<T>(step: () => Promise<T>, attempts = 40): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await step();
    } catch (error) {
      if (i >= attempts) throw error;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
