import type { IncomingHttpHeaders } from "node:http";
import { sessionCookieName } from "../tenancy/session-secret.js";

/**
 * What a request authenticates with. A bearer token wins over the session cookie: a request
 * that names a token is the token's, whatever cookies the client also sends.
 */
export function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(headers.authorization ?? "");
  return match?.[1];
}

/** The console session's secret from the Cookie header, if it carries one. */
export function sessionSecretOf(headers: IncomingHttpHeaders): string | undefined {
  const header = headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== sessionCookieName) continue;
    const value = part.slice(eq + 1).trim();
    return value === "" ? undefined : value;
  }
  return undefined;
}
