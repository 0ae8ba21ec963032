import { ASSISTANT_KEY_SCOPES, SCOPE_DESCRIPTIONS } from '../assistant-keys/scopes';

// How the MCP endpoint tells a client to authenticate (the MCP authorization spec): the
// protected-resource metadata of RFC 9728 at the well-known URL derived from the resource
// (`/.well-known/oauth-protected-resource/mcp`, also at the bare well-known path), and on a 401 a
// `WWW-Authenticate: Bearer` challenge (RFC 6750) pointing at it. AgentMint issues no OAuth
// tokens: the bearer is an assistant key the user creates on the page named by
// `resource_documentation`, so the metadata lists no authorization server.

export const MCP_PATH = '/mcp';
export const KEYS_PAGE_PATH = '/assistant';
export const resourceOf = (publicUrl: string) => `${publicUrl}${MCP_PATH}`;
export const metadataUrlOf = (publicUrl: string) => `${publicUrl}/.well-known/oauth-protected-resource${MCP_PATH}`;

export function protectedResourceMetadata(publicUrl: string) {
  return {
    resource: resourceOf(publicUrl),
    resource_name: 'AgentMint',
    authorization_servers: [],
    bearer_methods_supported: ['header'],
    scopes_supported: [...ASSISTANT_KEY_SCOPES],
    resource_documentation: `${publicUrl}${KEYS_PAGE_PATH}`,
    agentmint_scopes: SCOPE_DESCRIPTIONS,
    agentmint_key_instructions:
      'Create an assistant key on resource_documentation (signed in with your wallet) and send it as "Authorization: Bearer amk_…". Without a key only the quote tool is available.',
  };
}

// A header value is bytes: printable ASCII only, no quote or backslash inside a quoted string.
const quoted = (s: string) => `"${s.replace(/…/g, '...').replace(/[^\x20-\x7e]|["\\]/g, '')}"`;

/** The `WWW-Authenticate` value of a 401 (RFC 6750 §3, with RFC 9728's `resource_metadata`). */
export function bearerChallenge(
  publicUrl: string,
  error?: { code: 'invalid_token' | 'invalid_request'; description: string },
) {
  const parts = [`realm=${quoted('agentmint')}`, `resource_metadata=${quoted(metadataUrlOf(publicUrl))}`];
  if (error) parts.push(`error=${quoted(error.code)}`, `error_description=${quoted(error.description)}`);
  parts.push(`scope=${quoted(ASSISTANT_KEY_SCOPES.join(' '))}`);
  return `Bearer ${parts.join(', ')}`;
}
