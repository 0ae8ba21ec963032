import { handleMcpRequest } from '@/lib/mcp/http';

export const dynamic = 'force-dynamic';

/**
 * AgentMint's MCP server over Streamable HTTP (lib/mcp/http.ts). Without a key: `quote` only;
 * with `Authorization: Bearer <assistant key>`: the tools the key's scopes allow.
 */
export const POST = handleMcpRequest;
export const GET = handleMcpRequest;
export const DELETE = handleMcpRequest;
