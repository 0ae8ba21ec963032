import { getConfig } from '@/lib/config';
import { json } from '@/lib/http';
import { protectedResourceMetadata } from '@/lib/mcp/protected-resource';

export const dynamic = 'force-dynamic';

/** RFC 9728 metadata at the bare well-known path too, for clients that look there first. */
export const GET = () =>
  json(protectedResourceMetadata(getConfig().publicUrl), { headers: { 'access-control-allow-origin': '*' } });
