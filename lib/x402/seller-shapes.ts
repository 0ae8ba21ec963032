// Reading what an x402 seller says about itself beyond the payment terms: the input its 402
import { HEX_ADDRESS } from '../hex';
// declares (`outputSchema.input`: method and body fields), what it answers with (a voucher?),
// what it wants as payment (a transaction hash?), its own words when it refuses (a 4xx
// message), and a 402 that is not x402 at all. Pure, and defensive: every field is the
// seller's data, read as such, never followed as an instruction.

/** Body fields AgentMint can fill in itself: the user's address, and how many mints one request buys. */
const RECIPIENT_FIELDS =
  /^(recipient|to|address|useraddress|user|wallet|walletaddress|receiver|account|minter|buyer)$/i;
const QUANTITY_FIELDS = /^(quantity|amount|count|qty|mints|number)$/i;

export type FieldFill = { name: string; kind: 'recipient' | 'quantity' } | { name: string; kind: 'unknown' };

export function fieldKind(name: string): FieldFill['kind'] {
  if (RECIPIENT_FIELDS.test(name)) return 'recipient';
  if (QUANTITY_FIELDS.test(name)) return 'quantity';
  return 'unknown';
}

const isObject = (v: unknown): v is Record<string, unknown> => Boolean(v) && typeof v === 'object' && !Array.isArray(v);

export type DeclaredInput = {
  method?: 'GET' | 'POST';
  /** Body fields the 402 names, with whether each is required. */
  fields: Array<{ name: string; required: boolean }>;
};

/**
 * The request a 402 declares in `outputSchema.input` (v1; the x402 bazaar's shape:
 * `{ type: 'http', method, bodyType, bodyFields | body }`) or in a v2 `bazaar` extension's
 * `info.input`. Undefined when it declares none.
 */
export function declaredInputOf(outputSchema: unknown, extensions?: unknown): DeclaredInput | undefined {
  const bazaar = isObject(extensions) && isObject(extensions.bazaar) ? extensions.bazaar : undefined;
  const candidates = [
    isObject(outputSchema) ? outputSchema.input : undefined,
    bazaar && isObject(bazaar.info) ? bazaar.info.input : undefined,
  ];
  const input = candidates.find(isObject);
  if (!input) return undefined;
  const named = typeof input.method === 'string' ? input.method.toUpperCase() : undefined;
  const method = named === 'GET' || named === 'POST' ? named : undefined;
  const declared = isObject(input.bodyFields) ? input.bodyFields : isObject(input.body) ? input.body : {};
  const fields = Object.entries(declared)
    .filter(([name]) => /^[A-Za-z_][\w-]{0,63}$/.test(name))
    .slice(0, 20)
    .map(([name, spec]) => ({ name, required: isObject(spec) ? spec.required === true : false }));
  return { method, fields };
}

/** Whether what a paid request returns is a voucher (a signature the buyer redeems on chain itself), by the 402's own words. */
export function answersWithVoucher(outputSchema: unknown, description?: unknown, extensions?: unknown): boolean {
  const bazaar = isObject(extensions) && isObject(extensions.bazaar) ? extensions.bazaar : undefined;
  const outputs = [
    isObject(outputSchema) ? outputSchema.output : undefined,
    bazaar && isObject(bazaar.info) ? bazaar.info.output : undefined,
  ];
  const keys = outputs.filter(isObject).flatMap((o) => Object.keys(o).map((k) => k.toLowerCase()));
  if (keys.some((k) => k.includes('voucher'))) return true;
  if (keys.includes('signature') && !keys.some((k) => /tx|transaction|hash/.test(k))) return true;
  return typeof description === 'string' && /\bvoucher\b/i.test(description);
}

/**
 * Whether a seller's words ask for a transaction hash as the payment (a transfer the buyer sends
 * itself, then "submits proof" of): riz877/my-x402-backend's 402s said "POST your mint
 * transaction hash", "then submit proof", `payload: {mintTxHash}` in various versions.
 */
export function asksForTransactionHash(text: string): boolean {
  return /(?:transaction|tx)[ _-]?hash|\btx[ _-]?id\b|proof[ _-]of[ _-]payment|submit(?:ting)? (?:a |the |your )?(?:payment )?proof\b/i.test(
    text,
  );
}

/**
 * What a 402 asks of the buyer, as text to read: everything it wrote except the outputs it
 * declares (`outputSchema.output`, a bazaar `info.output`): a seller that returns its mint's
 * transaction hash (`output: {txHash}`) is not asking for one.
 */
export function buyerFacingText(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value, (key, v: unknown) => (key === 'output' ? undefined : v)) ?? '';
  } catch {
    return '';
  }
}

/**
 * A 402 body that asks to be paid outside x402 (an amount and an address: `{amount6, payTo}`),
 * or undefined. Such a payment is a transfer AgentMint would send itself, with nothing the
 * seller settles against delivery.
 */
export function nonX402Payment(body: unknown): { payTo: string; amount?: string } | undefined {
  if (!isObject(body)) return undefined;
  const payTo = [body.payTo, body.pay_to, body.recipient, body.address].find(
    (v): v is string => typeof v === 'string' && HEX_ADDRESS.test(v),
  );
  if (!payTo) return undefined;
  const amountKey = Object.keys(body).find((k) => /^(amount|price)\w*$/i.test(k));
  const amount = amountKey ? String(body[amountKey]).slice(0, 40) : undefined;
  return { payTo, amount };
}

/** What the seller says in a refusal: `error` / `error.message` / `message` of a JSON body, an HTML page's text, or the text itself; bounded. */
export function sellerMessage(text: string, json: unknown): string | undefined {
  const pick = (v: unknown) => (typeof v === 'string' && v.trim() ? v : undefined);
  let said: string | undefined;
  if (isObject(json))
    said =
      pick(json.error) ??
      (isObject(json.error) ? (pick(json.error.message) ?? pick(json.error.code)) : undefined) ??
      pick(json.message) ??
      pick(json.detail);
  else if (/<\/?[a-z][\s\S]*>/i.test(text))
    said = (text.match(/<pre>([\s\S]*?)<\/pre>/i)?.[1] ?? text.replace(/<[^>]*>/g, ' ')).trim();
  else said = pick(text);
  if (!said) return undefined;
  // Printable text only: the message is shown to the user.
  const flat = said
    .replace(/[\u0000-\u001f\u007f]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}

/** The field names a refusal says are missing ("Missing required fields: userAddress, fid"). */
export function missingFieldsOf(message: string | undefined): string[] {
  const match = message?.match(
    /missing (?:required )?(?:fields?|parameters?|params?)\s*:?\s*([A-Za-z_][\w-]*(?:\s*(?:,|and)\s*[A-Za-z_][\w-]*)*)/i,
  );
  if (!match) return [];
  return match[1]!
    .split(/\s*(?:,|\band\b)\s*/)
    .map((s) => s.trim())
    .filter(Boolean)
    .slice(0, 10);
}
