import { sessionCookieName } from "../tenancy/session-secret.js";

/**
 * The Set-Cookie value: HttpOnly (no script reads it), SameSite=Strict (no other site's page
 * sends it), Path=/ (the console and the API share it), Secure when the console is served over
 * HTTPS. No Max-Age: the browser drops it when it closes; the server ends it on its own clock.
 */
export function sessionCookie(secret: string, secure: boolean): string {
  return `${sessionCookieName}=${secret}; Path=/; HttpOnly; SameSite=Strict${secure ? "; Secure" : ""}`;
}

/** Tells the browser to drop the cookie (sign-out, or a session that has ended). */
export function clearedSessionCookie(secure: boolean): string {
  return `${sessionCookieName}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT${secure ? "; Secure" : ""}`;
}
