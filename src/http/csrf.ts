import type { Context, Next } from "koa";
import { CsrfError } from "../errors.js";
import { csrfTokenMatches } from "../tenancy/session-secret.js";
import { bearerToken, sessionSecretOf } from "./request-credentials.js";

const safeMethods = new Set(["GET", "HEAD", "OPTIONS"]);

export interface CsrfOptions {
  /** Hosts (host[:port]) the console is served under besides the request's own Host (messaging.publicUrl's). */
  trustedHosts(): readonly string[];
}

/**
 * The second line, for browsers that say where a request comes from: a page of another site
 * (Sec-Fetch-Site cross-site or same-site, or an Origin of another host) is refused even before
 * the token is looked at. Requests without these headers (older browsers, scripts) rely on the token.
 */
export function assertSameOrigin(ctx: Context, options: CsrfOptions): void {
  const site = ctx.get("Sec-Fetch-Site");
  if (site && site !== "same-origin" && site !== "none") {
    throw new CsrfError(`a ${site} request cannot use the console session`);
  }
  const origin = ctx.get("Origin");
  if (!origin) return;
  let host: string | null = null;
  try {
    host = origin === "null" ? null : new URL(origin).host;
  } catch {
    host = null;
  }
  if (host === null || (host !== ctx.host && !options.trustedHosts().includes(host))) {
    throw new CsrfError(`a request from ${origin} cannot use the console session`);
  }
}

/**
 * CSRF protection of the admin API for requests authenticated by the session cookie: an unsafe
 * method (POST, PUT, PATCH, DELETE) must carry X-CSRF-Token, the synchronizer token of the
 * session in its cookie. Bearer requests need none: no other site can make a browser send an
 * Authorization header. Runs before authentication, so a forged request is refused before it
 * costs a database lookup.
 */
export function csrfProtection(options: CsrfOptions) {
  return async function csrfProtection(ctx: Context, next: Next): Promise<void> {
    if (safeMethods.has(ctx.method) || bearerToken(ctx.headers)) return next();
    const secret = sessionSecretOf(ctx.headers);
    if (!secret) return next();
    assertSameOrigin(ctx, options);
    const token = ctx.get("X-CSRF-Token");
    if (!token) throw new CsrfError("send the session's CSRF token in X-CSRF-Token");
    if (!csrfTokenMatches(secret, token)) throw new CsrfError("the X-CSRF-Token is not this session's");
    return next();
  };
}
