import { json } from '@/lib/http';

export const dynamic = 'force-dynamic';

/** A trivial handler: the baseline the API benchmark compares real routes against. */
export async function GET() {
  return json({ ok: true });
}
