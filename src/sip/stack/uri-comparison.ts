import type { Params, SipUri } from "./grammar.js";

/**
 * URI equivalence of RFC 3261 section 19.1.4, so that two spellings of one contact are one
 * binding: scheme, host and parameter names compare case-insensitively, user and password
 * case-sensitively, escaped characters equal their unescaped form, a port present in one URI
 * only makes them differ, and of the parameters only user, ttl, method, maddr and transport
 * count when one side lacks them (the others only when both carry them).
 */
export function sameUri(a: SipUri, b: SipUri): boolean {
  if (a.scheme !== b.scheme) return false;
  if (a.scheme === "tel") return a.user === b.user && sameParams(a.params, b.params);
  if (unescaped(a.user) !== unescaped(b.user) || unescaped(a.password) !== unescaped(b.password))
    return false;
  if (a.host.toLowerCase() !== b.host.toLowerCase() || a.port !== b.port) return false;
  return sameParams(a.params, b.params) && sameHeaders(a.headers, b.headers);
}

/** Parameters that make two URIs differ when only one of them carries it (section 19.1.4). */
const significantWhenAlone = ["user", "ttl", "method", "maddr", "transport"] as const;

function sameParams(a: Params, b: Params): boolean {
  for (const name of significantWhenAlone) {
    if (a.has(name) !== b.has(name)) return false;
  }
  for (const [name, value] of a) {
    if (!b.has(name)) continue;
    if (paramValue(value) !== paramValue(b.get(name) ?? null)) return false;
  }
  return true;
}

function paramValue(value: string | null): string | null {
  return value === null ? null : (unescaped(value) as string).toLowerCase();
}

/** URI headers (`?a=b&c=d`) are never ignored: the same names (any case) with the same values. */
function sameHeaders(a: string | null, b: string | null): boolean {
  if (a === b) return true;
  const set = (text: string | null) =>
    (text ?? "")
      .split("&")
      .filter((part) => part !== "")
      .map((part) => {
        const eq = part.indexOf("=");
        const name = eq < 0 ? part : part.slice(0, eq);
        const value = eq < 0 ? "" : part.slice(eq + 1);
        return `${(unescaped(name) as string).toLowerCase()}=${unescaped(value)}`;
      })
      .sort()
      .join("&");
  return set(a) === set(b);
}

function unescaped(text: string | null): string | null {
  if (text === null || text.indexOf("%") < 0) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    // A lone "%" is not an escape: compare the text as it is.
    return text;
  }
}
