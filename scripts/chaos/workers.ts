import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');

type Slot = {
  id: string;
  child: ChildProcess;
  exited: Promise<void>;
  tail: string[];
  stopped: boolean;
  expectedExit: boolean;
  ready: boolean;
};

/**
 * The chaos run's worker processes, each the real `npm run worker` (node --import tsx
 * worker/index.ts) with its own WORKER_ID, so a task's locked_by names the process holding it.
 * Supervised as PM2 would: a worker that exits by itself is restarted a second later and
 * counted in `crashes` (with its last lines in `crashLog`).
 */
export class WorkerPool {
  private readonly slots: Slot[] = [];
  private generation = 0;
  private closing = false;
  crashes = 0;
  readonly crashLog: string[] = [];

  constructor(
    private readonly env: Record<string, string>,
    readonly size: number,
    /** Each worker's full output goes to `<logDir>/<id>.log`. */
    private readonly logDir: string,
  ) {}

  startAll() {
    for (let i = 0; i < this.size; i++) this.start(i);
  }

  start(i: number) {
    const id = `chaos-w${i}-${++this.generation}`;
    const child = spawn(process.execPath, ['--import', 'tsx', 'worker/index.ts'], {
      cwd: root,
      env: { ...process.env, ...this.env, WORKER_ID: id },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const tail: string[] = [];
    const file = createWriteStream(path.join(this.logDir, `${id}.log`));
    child.stdout!.pipe(file);
    child.stderr!.pipe(file);
    const keep = (d: Buffer) => {
      tail.push(...d.toString().split('\n').filter(Boolean));
      if (tail.length > 300) tail.splice(0, tail.length - 300);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const slot: Slot = {
      id,
      child,
      exited: Promise.resolve(),
      tail,
      stopped: false,
      expectedExit: false,
      ready: false,
    };
    child.stdout!.on('data', (d: Buffer) => void (slot.ready ||= d.includes('worker_started')));
    slot.exited = new Promise<void>((resolve) =>
      child.once('exit', (code, signal) => {
        resolve();
        if (slot.expectedExit || this.closing) return;
        this.crashes++;
        this.crashLog.push(`${id} exited by itself (code ${code}, signal ${signal}):`, ...tail.slice(-6));
        setTimeout(() => this.closing || this.start(i), 1_000);
      }),
    );
    this.slots[i] = slot;
  }

  /** Resolves once every worker has logged worker_started (or after `timeoutMs`). */
  async ready(timeoutMs: number) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && !this.slots.every((s) => s.ready)) await new Promise((r) => setTimeout(r, 100));
  }

  idOf(i: number) {
    return this.slots[i]!.id;
  }

  indexOf(id: string) {
    return this.slots.findIndex((s) => s?.id === id);
  }

  /** kill -9, as the OOM killer or a lost host would. */
  async kill(i: number) {
    const slot = this.slots[i]!;
    slot.expectedExit = true;
    slot.child.kill('SIGKILL');
    await slot.exited;
  }

  pause(i: number) {
    this.slots[i]!.child.kill('SIGSTOP');
    this.slots[i]!.stopped = true;
  }

  resume(i: number) {
    this.slots[i]!.child.kill('SIGCONT');
    this.slots[i]!.stopped = false;
  }

  /** The last lines a worker printed (for a failed run's report). */
  tail(i: number, lines = 20) {
    return this.slots[i]!.tail.slice(-lines);
  }

  /** Drains every worker (SIGTERM), SIGKILL after `graceMs`. */
  async stopAll(graceMs = 5_000) {
    this.closing = true;
    await Promise.all(
      this.slots.map(async (slot) => {
        if (!slot || slot.child.exitCode !== null || slot.child.signalCode !== null) return;
        if (slot.stopped) slot.child.kill('SIGCONT');
        slot.child.kill('SIGTERM');
        const timer = setTimeout(() => slot.child.kill('SIGKILL'), graceMs);
        await slot.exited;
        clearTimeout(timer);
      }),
    );
  }
}
