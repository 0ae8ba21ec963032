import { json, route } from '@/lib/http';
import { discoveryDocument } from '@/lib/x402-seller/discovery';

export const dynamic = 'force-dynamic';

/** The x402 discovery document: what this server sells over x402 (POST /api/x402/mint) and how to call it. */
export const GET = route(async () =>
  json(await discoveryDocument(), { headers: { 'access-control-allow-origin': '*' } }),
);
