import { getConfig } from '../config';
import { AppError } from '../errors';

// Cross-site request refusal for every state-changing route, applied once by lib/http's
// route(). A browser names the page that sent a request in `Origin` (and in `Sec-Fetch-Site`);
// only PUBLIC_URL's own pages may change state. Scripts and bots send neither and are let
// through: the attack needs a victim's browser and its cookie. JSON only: an HTML form can post
// text/plain or form data cross-site without asking, but not application/json.

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export const isStateChanging = (method: string) => !SAFE_METHODS.has(method.toUpperCase());

export function checkSameOrigin(req: Request, publicUrl = getConfig().publicUrl): void {
  const origin = req.headers.get('origin');
  if (origin !== null) {
    // `Origin: null` (sandboxed frames, data: URLs, some redirects) is never this site.
    if (origin !== publicUrl)
      throw crossSite(`This request came from ${origin === 'null' ? 'an opaque origin' : origin}, not ${publicUrl}.`);
    return;
  }
  const site = req.headers.get('sec-fetch-site');
  // same-site (another port or subdomain of ours) is not the app: the probe used such a page.
  if (site !== null && site !== 'same-origin' && site !== 'none')
    throw crossSite(`This request came from a ${site} page, not ${publicUrl}.`);
}

export function checkJsonContentType(req: Request): void {
  if (!/^application\/json\s*(;|$)/i.test(req.headers.get('content-type') ?? '')) {
    throw new AppError('unsupported_media_type:request', 'Send the request with content-type: application/json.');
  }
}

const crossSite = (detail: string) => new AppError('forbidden:origin', `Cross-site requests are refused. ${detail}`);
