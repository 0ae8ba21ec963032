import path from 'node:path';
import { startNextServer, type NextServer } from '../local/next-start';

/** The production build the chaos run serves; shared with the e2e suite (one build for both). */
export const CHAOS_DIST_DIR = '.next-e2e';

/**
 * The chaos run's web tier: one `next start` of the production build, supervised as PM2 would: a
 * web process that exits by itself is counted in `crashes` (with the tail of its log) and started
 * again. Users' fund calls reach it over HTTP; it talks to Postgres directly (so it meets the
 * restart) and to anvil directly, as a web tier on another host would.
 */
export class WebProcess {
  crashes = 0;
  readonly crashLog: string[] = [];
  private server: NextServer | undefined;
  private closing = false;
  private generation = 0;

  constructor(
    private readonly env: Record<string, string>,
    private readonly logDir: string,
  ) {}

  get url(): string {
    if (!this.server) throw new Error('the web process is not running');
    return this.server.url;
  }

  async start() {
    const logFile = path.join(this.logDir, `web-${++this.generation}.log`);
    const server = await startNextServer({ distDir: CHAOS_DIST_DIR, env: this.env, logFile });
    this.server = server;
    void server.exited.then(async ({ code, signal }) => {
      if (this.closing || this.server !== server) return;
      this.crashes++;
      this.crashLog.push(`web exited by itself (code ${code}, signal ${signal}); log: ${logFile}`);
      this.server = undefined;
      await new Promise((r) => setTimeout(r, 1_000));
      if (!this.closing) await this.start().catch((error) => this.crashLog.push(`restart failed: ${error}`));
    });
  }

  async stop() {
    this.closing = true;
    await this.server?.stop();
  }
}
