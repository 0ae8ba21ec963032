// Runs once when the web server starts: a bad or missing setting (e.g. PUBLIC_URL or
// METRICS_TOKEN outside CHAIN=local) stops it here, naming the variable, instead of failing
// the first request. NEXT_RUNTIME is Next's own marker, the documented way to pick the runtime.
export async function register() {
  if (process.env.NEXT_RUNTIME === 'nodejs') {
    const { getConfig } = await import('./lib/config');
    getConfig();
  }
}
