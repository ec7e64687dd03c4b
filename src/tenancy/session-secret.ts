import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { ids } from "../ids.js";

/** The console's session cookie. */
export const sessionCookieName = "provisiond_session";

/** 256 random bits; the cookie carries it, the database only its SHA-256. */
export function generateSessionSecret(): string {
  return ids.secret(32);
}

export function hashSessionSecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

export function looksLikeSessionSecret(value: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(value);
}

/**
 * The session's synchronizer token, derived from its secret: one per session, known to the
 * page (it reads it from the sign-in answer or GET /sessions/current), never to another site,
 * and nothing to store beside the session. Not the stored hash, so the database does not hold it.
 */
export function csrfTokenOf(secret: string): string {
  return createHmac("sha256", secret).update("provisiond console csrf token").digest("base64url");
}

export function csrfTokenMatches(secret: string, presented: string): boolean {
  const expected = Buffer.from(csrfTokenOf(secret));
  const given = Buffer.from(presented);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
