import { timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { getConfig } from '../config';
import { getLogger } from '../log';
import { renderMetrics } from './collect';

/** With METRICS_TOKEN set, only `Authorization: Bearer <token>` may scrape. */
export function isMetricsRequestAllowed(
  authorization: string | null | undefined,
  token = getConfig().metricsToken,
): boolean {
  if (!token) return true;
  const match = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
  if (!match) return false;
  const given = Buffer.from(match[1]!.trim());
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * The worker's scrape endpoint: GET /metrics (and /) on `port`, same token rule as the web
 * route. Resolves once listening; `close()` the server on shutdown.
 */
export function startWorkerMetricsServer(port: number, host = getConfig().worker.metricsHost): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || (path !== '/metrics' && path !== '/')) {
      res.writeHead(404).end();
      return;
    }
    if (!isMetricsRequestAllowed(req.headers.authorization)) {
      res.writeHead(401, { 'www-authenticate': 'Bearer' }).end();
      return;
    }
    renderMetrics().then(
      ({ body, contentType }) => res.writeHead(200, { 'content-type': contentType }).end(body),
      (error) => {
        getLogger().error({ err: error instanceof Error ? error.message : String(error) }, 'metrics render failed');
        res.writeHead(500).end();
      },
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      getLogger().info({ port, host }, 'worker metrics listening');
      resolve(server);
    });
  });
}
