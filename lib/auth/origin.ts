import { getConfig } from '../config';
import { AppError } from '../errors';

// Cross-site request refusal for every state-changing route, applied once by lib/http's
// route(). A browser names the page that sent a request in `Origin` (and in `Sec-Fetch-Site`);
// only PUBLIC_URL's own pages may change state. Scripts and bots send neither and are let
// through: the attack needs a victim's browser and its cookie. A body must be JSON: an HTML form
// can post text/plain or form data cross-site without asking, but not application/json. No body
// and no content type at all (`curl -X POST`) is accepted: there is nothing in it to forge.

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

export const isJsonContentType = (type: string | null) => /^application\/json\s*(;|$)/i.test(type ?? '');

/** JSON, or no body and no content type; 415 otherwise. Reads at most the first chunk of a body. */
export async function checkJsonOrNoBody(req: Request): Promise<void> {
  const type = req.headers.get('content-type');
  if (type ? isJsonContentType(type) : !(await hasBody(req))) return;
  throw new AppError(
    'unsupported_media_type:request',
    'Send the body as JSON with content-type: application/json, or send no body.',
  );
}

async function hasBody(req: Request): Promise<boolean> {
  // Declared by its headers: answered at once, without waiting for a body a client may withhold.
  if (req.headers.has('transfer-encoding') || Number(req.headers.get('content-length') ?? 0) > 0) return true;
  if (!req.body) return false;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) {
      reader.releaseLock();
      return false;
    }
    if (value.byteLength > 0) {
      await reader.cancel();
      return true;
    }
  }
}

const crossSite = (detail: string) => new AppError('forbidden:origin', `Cross-site requests are refused. ${detail}`);
