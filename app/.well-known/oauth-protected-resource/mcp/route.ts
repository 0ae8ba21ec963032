import { getConfig } from '@/lib/config';
import { json } from '@/lib/http';
import { protectedResourceMetadata } from '@/lib/mcp/protected-resource';

export const dynamic = 'force-dynamic';

/** RFC 9728 protected-resource metadata of `/mcp` (the path-suffixed well-known URL). */
export const GET = () =>
  json(protectedResourceMetadata(getConfig().publicUrl), { headers: { 'access-control-allow-origin': '*' } });
