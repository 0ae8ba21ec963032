import { getConfig } from './config';

/**
 * Stops the web server at start when the configuration is bad, naming the variable, instead of
 * failing every request. Next only logs an error thrown from register(), so exit ourselves.
 * Node-only: kept out of instrumentation.ts so the Edge build of that file never sees process.exit.
 */
export function exitOnBadConfig(): void {
  try {
    getConfig();
  } catch (error) {
    console.error(`[agent-mint] refusing to start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
