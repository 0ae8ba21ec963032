import { browserRpcUrl } from './chain/networks';
import { getConfig, type Config } from './config';

// Response headers for every page and API response, set by proxy.ts (Next 16's middleware).
// Pages get a nonce-based CSP: Next reads the nonce from the request's CSP header and puts it
// on its own scripts, and 'strict-dynamic' lets those load the rest of the bundle. Anything
// injected without the nonce does not run.

type HeaderConfig = Pick<Config, 'publicUrl' | 'chain' | 'rpcUrl' | 'nodeEnv' | 'walletConnectProjectId'>;

// WalletConnect's relay, RPC, verify iframe and wallet images; only when a project id is set.
const WALLETCONNECT = {
  connect: [
    'https://*.walletconnect.com',
    'https://*.walletconnect.org',
    'wss://*.walletconnect.com',
    'wss://*.walletconnect.org',
    'https://*.reown.com',
    'wss://*.reown.com',
    'https://api.web3modal.org',
  ],
  frame: ['https://verify.walletconnect.com', 'https://verify.walletconnect.org'],
  img: ['https://*.walletconnect.com', 'https://api.web3modal.org'],
};

/** The JSON-RPC origin the browser's wagmi uses: the local anvil, or the chain's public RPC (see app/layout.tsx). */
function browserRpcOrigin(config: HeaderConfig): string {
  return new URL(browserRpcUrl(config)).origin;
}

export function pageCsp(nonce: string, config: HeaderConfig = getConfig()): string {
  const wc = config.walletConnectProjectId ? WALLETCONNECT : { connect: [], frame: [], img: [] };
  const https = config.publicUrl.startsWith('https:');
  const directives = [
    "default-src 'self'",
    // 'unsafe-eval' only under `next dev`, whose error overlay needs it.
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${config.nodeEnv === 'development' ? " 'unsafe-eval'" : ''}`,
    // Styles allow inline: React's style={} attributes and RainbowKit's theme <style> carry no
    // nonce. (A nonce here would switch 'unsafe-inline' off.) Styles cannot run code.
    "style-src 'self' 'unsafe-inline'",
    ["img-src 'self' data: blob:", ...wc.img].join(' '),
    "font-src 'self' data:",
    ["connect-src 'self'", browserRpcOrigin(config), ...wc.connect].join(' '),
    wc.frame.length ? `frame-src ${wc.frame.join(' ')}` : "frame-src 'none'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    // The signing page must never be framed (clickjacking a signature).
    "frame-ancestors 'none'",
    ...(https ? ['upgrade-insecure-requests'] : []),
  ];
  return directives.join('; ');
}

/** API responses are data, never documents: nothing may load or frame them. */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'";

/** The headers every response gets (CSP aside). */
export function commonSecurityHeaders(config: Pick<Config, 'publicUrl'> = getConfig()): Record<string, string> {
  return {
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'strict-origin-when-cross-origin',
    'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()',
    // Only behind https: a browser remembers it for two years and never tries http again.
    ...(config.publicUrl.startsWith('https:') ? { 'strict-transport-security': 'max-age=63072000' } : {}),
  };
}
