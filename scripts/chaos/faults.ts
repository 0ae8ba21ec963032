import { getSql } from '@/db/client';
import type { ChaosStack } from './stack';
import type { WorkerPool } from './workers';

export type FaultKind = 'kill' | 'stall' | 'outage' | 'postgres';
export type FaultCounts = Record<FaultKind, number>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => console.log(`chaos ${new Date().toISOString().slice(11, 19)}  ${line}`);

/** Which workers hold a live lease right now, and on which tasks. */
async function leaseHolders(): Promise<Map<string, string[]>> {
  const rows = await getSql()<{ id: string; locked_by: string }[]>`
    select id, locked_by from ai_agent_tasks where status = 'processing' and locked_until > now() and locked_by is not null`;
  const out = new Map<string, string[]>();
  for (const r of rows) out.set(r.locked_by, [...(out.get(r.locked_by) ?? []), r.id]);
  return out;
}

/** A worker in the middle of a task when there is one (the interesting case), else any. */
async function pickWorker(pool: WorkerPool, random: () => number): Promise<{ index: number; tasks: string[] }> {
  const holders = await leaseHolders().catch(() => new Map<string, string[]>());
  const busy = [...holders.entries()]
    .map(([id, tasks]) => ({ index: pool.indexOf(id), tasks }))
    .filter((w) => w.index >= 0);
  if (busy.length) return busy[Math.floor(random() * busy.length)]!;
  return { index: Math.floor(random() * pool.size), tasks: [] };
}

/**
 * The faults, one at a time. kill: SIGKILL a worker mid-task, restart it 1–3 s later. stall:
 * SIGSTOP a worker holding a lease for longer than the lease, check the lease did run out
 * (another worker may take the task), then SIGCONT it: from then on the fence must keep it from
 * sending anything for that task. outage: the RPC proxy drops everything for 10 s. postgres:
 * stop the database, start it again a second later.
 */
export class Faults {
  readonly counts: FaultCounts = { kill: 0, stall: 0, outage: 0, postgres: 0 };
  /** Stalls whose lease had not run out by SIGCONT (not counted as stalls past the lease). */
  shortStalls = 0;

  constructor(
    private readonly stack: ChaosStack,
    private readonly pool: WorkerPool,
    private readonly random: () => number,
    private readonly leaseMs: number,
  ) {}

  async inject(kind: FaultKind) {
    try {
      await this[kind]();
    } catch (error) {
      log(`${kind} failed: ${(error as Error).message}`);
    }
  }

  private async kill() {
    const { index, tasks } = await this.workerHoldingALease(5_000);
    const id = this.pool.idOf(index);
    await this.pool.kill(index);
    this.counts.kill++;
    const delay = 1_000 + Math.floor(this.random() * 2_000);
    log(`kill -9 ${id} (holding ${tasks.length} task(s)); restart in ${delay} ms`);
    await sleep(delay);
    this.pool.start(index);
  }

  private async stall() {
    // Stalling an idle worker proves nothing: wait (up to 20 s) for one that holds a lease.
    const picked = await this.workerHoldingALease(20_000);
    const id = this.pool.idOf(picked.index);
    const ms = this.leaseMs + 2_500;
    this.pool.pause(picked.index);
    log(`SIGSTOP ${id} for ${ms} ms (lease ${this.leaseMs} ms) holding ${picked.tasks.length} task(s)`);
    await sleep(ms);
    const holders = await leaseHolders().catch(() => undefined);
    const stillHeld = holders?.get(id) ?? [];
    this.pool.resume(picked.index);
    if (picked.tasks.length > 0 && holders && picked.tasks.every((t) => !stillHeld.includes(t))) this.counts.stall++;
    else this.shortStalls++;
    log(`SIGCONT ${id}: its lease ${stillHeld.length === 0 ? 'had run out' : 'was still held'}`);
  }

  /**
   * A worker holding a lease, else (after `waitMs`) any. Looked for every 100 ms: tasks of a few
   * mints hold their lease for well under a second, so a coarser look can miss every one of them.
   */
  private async workerHoldingALease(waitMs: number) {
    const deadline = Date.now() + waitMs;
    let picked = await pickWorker(this.pool, this.random);
    while (picked.tasks.length === 0 && Date.now() < deadline) {
      await sleep(100);
      picked = await pickWorker(this.pool, this.random);
    }
    return picked;
  }

  private async outage() {
    log('RPC cut for 10 s');
    await this.stack.proxy.cut(10_000);
    this.counts.outage++;
    log('RPC back');
  }

  private async postgres() {
    log('Postgres stopping');
    await this.stack.restartPostgres(1_000);
    this.counts.postgres++;
    log('Postgres back');
  }
}
