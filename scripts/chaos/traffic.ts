import { getAddress, type Address, type Hex } from 'viem';
import { getTaskById } from '@/db/tasks';
import { createMintTask } from '@/lib/tasks/create-task';
import { getFundingRequest } from '@/lib/tasks/funding-request';
import { anvilAccount } from '../local/anvil';

/**
 * Users funding tasks over time: each task is created through the chat's lib call (createMintTask
 * checks the token on chain), then paid by POSTing the user's signed EIP-3009 authorization to
 * the web process's fund route, over HTTP, as the browser does. A step that fails (the database
 * restarting, the web process down) is retried with the same authorization, as a browser would
 * post it again; what a step could not do in the end is kept in `failures`.
 */
export class Traffic {
  readonly taskIds: string[] = [];
  /** Tasks whose creation or funding never went through, with the last error. */
  readonly failures: string[] = [];
  /** Fund calls made to the web process, and those that failed (and were posted again). */
  readonly fundCalls = { made: 0, failed: 0 };
  private stopped = false;
  private readonly running: Promise<void>[] = [];

  constructor(
    private readonly tokens: Address[],
    private readonly random: () => number,
    /** The web process's base URL now (it changes if the process is restarted). */
    private readonly webUrl: () => string,
    private readonly users = [1, 2, 3, 4, 5, 6],
  ) {}

  /** Starts one new task every `everyMs` until `stop()`. */
  run(everyMs: number, quantity: { min: number; max: number }) {
    const loop = async () => {
      while (!this.stopped) {
        const userIndex = this.users[Math.floor(this.random() * this.users.length)]!;
        const token = this.tokens[Math.floor(this.random() * this.tokens.length)]!;
        const count = quantity.min + Math.floor(this.random() * (quantity.max - quantity.min + 1));
        this.running.push(
          this.fundOne(userIndex, token, count).catch((error: unknown) => {
            this.failures.push((error as Error).message);
            console.error(`chaos: a user's task could not be funded: ${(error as Error).message}`);
          }),
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
    const { message } = request;
    const authorization = {
      from: getAddress(message.from),
      to: getAddress(message.to),
      value: BigInt(message.value),
      validAfter: BigInt(message.validAfter),
      validBefore: BigInt(message.validBefore),
      nonce: message.nonce,
    };
    const signature: Hex = await account.signTypedData({
      domain: request.domain,
      types: request.types,
      primaryType: request.primaryType,
      message: authorization,
    });
    const body = JSON.stringify({ authorization: message, signature });
    await retry(async () => {
      const current = await getTaskById({ id: task.id });
      if (current?.status !== 'pending_payment') return; // funded by an earlier try whose answer was lost
      this.fundCalls.made++;
      const res = await fetch(`${this.webUrl()}/api/ai-agent/task/${task.id}/fund`, {
        method: 'POST',
        // Each user behind the reverse proxy from their own address (TRUSTED_PROXY_HOPS=1): the
        // fund route's per-IP limit counts users, not this one process.
        headers: { 'content-type': 'application/json', 'x-forwarded-for': `10.0.0.${userIndex}` },
        body,
        signal: AbortSignal.timeout(30_000),
      }).catch((error: unknown) => {
        this.fundCalls.failed++;
        throw error;
      });
      if (res.ok) return;
      this.fundCalls.failed++;
      throw new Error(`task ${task.id}: fund answered ${res.status} ${(await res.text()).slice(0, 300)}`);
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
