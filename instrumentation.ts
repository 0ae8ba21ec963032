// Runs once when the web server starts: a bad or missing setting (e.g. PUBLIC_URL or
// METRICS_TOKEN outside CHAIN=local) stops the server here, naming the variable, instead of
// failing every request. Next only logs an error thrown from register(), so exit ourselves.
// NEXT_RUNTIME is Next's own marker, the documented way to tell the runtimes apart.
export async function register() {
  if (process.env.NEXT_RUNTIME !== 'nodejs') return;
  const { getConfig } = await import('./lib/config');
  try {
    getConfig();
  } catch (error) {
    console.error(`[agent-mint] refusing to start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
