import type { SipRequest } from "./message.js";

/**
 * SIP extensions a request requires (RFC 3261 section 8.2.2.3): the option tags of its Require
 * header that this user agent server does not support, to be refused with 420 and Unsupported.
 * ACK and CANCEL are never refused for that (section 8.2.2.3), and a proxy does not look at
 * Require at all, so only the parts that answer a request themselves ask this.
 */
export function unsupportedRequirements(request: SipRequest, supported: ReadonlySet<string>): string[] {
  if (request.method === "ACK" || request.method === "CANCEL") return [];
  const required = request.headers.values("require");
  if (required.length === 0) return [];
  const unsupported: string[] = [];
  for (const value of required) {
    const tag = value.trim().toLowerCase();
    if (tag !== "" && !supported.has(tag) && !unsupported.includes(tag)) unsupported.push(tag);
  }
  return unsupported;
}
