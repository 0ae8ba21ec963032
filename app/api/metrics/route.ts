import { renderMetrics } from '@/lib/metrics/collect';
import { isMetricsRequestAllowed } from '@/lib/metrics/server';
import { AppError } from '@/lib/errors';
import { route } from '@/lib/http';

export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

/** Prometheus text for the web process; METRICS_TOKEN set → `Authorization: Bearer` required. */
export const GET = route(async (req) => {
  if (!isMetricsRequestAllowed(req.headers.get('authorization'))) {
    throw new AppError('unauthorized:metrics', 'A valid metrics bearer token is required.', {
      headers: { 'www-authenticate': 'Bearer' },
    });
  }
  const { body, contentType } = await renderMetrics();
  return new Response(body, { headers: { 'content-type': contentType, 'cache-control': 'no-store' } });
});
