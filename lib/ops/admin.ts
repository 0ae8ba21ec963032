import { getConfig } from '../config';
import { AppError } from '../errors';
import { requireSession, type Session } from '../auth/session';

export const isAdminAddress = (address: string | undefined | null) =>
  !!address && getConfig().adminAddresses.includes(address.toLowerCase());

/** A signed-in session whose address is in ADMIN_ADDRESSES: 401 without a session, 403 otherwise. */
export async function requireAdmin(req: Request, surface: string): Promise<Session> {
  const session = await requireSession(req);
  if (!isAdminAddress(session.address)) throw new AppError(`forbidden:${surface}`, 'This needs an operator account.');
  return session;
}
