// Runs once when the web server starts: a bad or missing setting (e.g. PUBLIC_URL or
// METRICS_TOKEN outside CHAIN=local), or a USDC that is not EIP-3009, stops the server here
// (lib/startup-check.ts).
// NEXT_RUNTIME is Next's own marker, the documented way to tell the runtimes apart.
export async function register() {
  if (process.env.NEXT_RUNTIME !== 'nodejs') return;
  const { exitOnBadConfig, exitOnUnusableUsdc } = await import('./lib/startup-check');
  exitOnBadConfig();
  await exitOnUnusableUsdc();
}
