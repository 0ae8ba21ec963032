/** Sign-in attempts per client IP, and sign-ins per verified address; shared by every web process. */
export const AUTH_LIMIT = { limit: 30, windowMs: 60_000 } as const;
