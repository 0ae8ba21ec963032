import { createServer, type Server } from 'node:http';
import { verifyWebhookSignature, WEBHOOK_HEADERS } from '@/lib/webhooks/signature';

export type Received = { event: string; deliveryId: string; body: any; validSignature: boolean; status: number };

/**
 * A webhook receiver on 127.0.0.1:port. `failNext(n)` answers the next n requests with 500;
 * `stop()`/`start()` take it down and bring it back on the same port.
 */
export function webhookReceiver(port: number, secret: string) {
  const received: Received[] = [];
  let failures = 0;
  let server: Server | undefined;
  const start = () =>
    new Promise<void>((resolve) => {
      server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          const status = failures > 0 ? 500 : 200;
          if (failures > 0) failures--;
          received.push({
            event: String(req.headers[WEBHOOK_HEADERS.event]),
            deliveryId: String(req.headers[WEBHOOK_HEADERS.delivery]),
            body: JSON.parse(raw),
            validSignature: verifyWebhookSignature({
              secret,
              timestamp: String(req.headers[WEBHOOK_HEADERS.timestamp]),
              body: raw,
              signature: String(req.headers[WEBHOOK_HEADERS.signature]),
            }),
            status,
          });
          res.writeHead(status).end();
        });
      });
      server.listen(port, '127.0.0.1', () => resolve());
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (!server) return resolve();
      server.closeAllConnections();
      server.close(() => resolve());
      server = undefined;
    });
  return {
    received,
    accepted: () => received.filter((r) => r.status === 200),
    failNext: (n: number) => {
      failures = n;
    },
    start,
    stop,
  };
}

export async function waitFor<T>(
  check: () => T | Promise<T>,
  { timeoutMs = 20_000, everyMs = 50 } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
