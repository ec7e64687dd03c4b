import type { CSeq, NameAddr, Via } from "./grammar.js";

/**
 * SIP messages (RFC 3261 section 7) as the parser produces them and the serialiser writes them.
 * Header values stay raw strings; the structured views (Via, CSeq, name-addr, Contact) are
 * parsed on demand by src/sip/stack/parser.ts, because most messages only need a few of them.
 */

export interface SipHeader {
  /** The name as it will be written (compact forms expanded, canonical case). */
  name: string;
  /** The lowercase full name, for lookups. */
  key: string;
  value: string;
}

/** Compact forms (RFC 3261 section 7.3.3 and later RFCs) -> lowercase full names. */
export const compactHeaderNames: Readonly<Record<string, string>> = {
  i: "call-id",
  m: "contact",
  e: "content-encoding",
  l: "content-length",
  c: "content-type",
  f: "from",
  s: "subject",
  k: "supported",
  t: "to",
  v: "via",
  o: "event",
  r: "refer-to",
  b: "referred-by",
  u: "allow-events",
  x: "session-expires",
  a: "accept-contact",
  j: "reject-contact",
  d: "request-disposition",
  y: "identity",
  n: "identity-info",
};

const canonicalNames: Record<string, string> = {
  "call-id": "Call-ID",
  cseq: "CSeq",
  "www-authenticate": "WWW-Authenticate",
  "mime-version": "MIME-Version",
  rack: "RAck",
  rseq: "RSeq",
};

const canonicalCache = new Map<string, string>();

/** `content-length` -> `Content-Length`, with the few names whose case is not the rule. */
export function canonicalHeaderName(key: string): string {
  const cached = canonicalCache.get(key);
  if (cached !== undefined) return cached;
  const name =
    canonicalNames[key] ??
    key.replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => dash + letter.toUpperCase());
  // Bounded: header names come from peers, and a flood of invented ones must not grow this forever.
  if (canonicalCache.size < 1000) canonicalCache.set(key, name);
  return name;
}

/** Headers whose commas separate values (RFC 3261 section 7.3.1); others keep their commas. */
export const listHeaders: ReadonlySet<string> = new Set([
  "via",
  "contact",
  "route",
  "record-route",
  "path",
  "service-route",
  "allow",
  "supported",
  "require",
  "proxy-require",
  "unsupported",
  "accept",
  "accept-encoding",
  "accept-language",
  "allow-events",
  "content-encoding",
  "in-reply-to",
]);

export class SipHeaders {
  constructor(private readonly items: SipHeader[] = []) {}

  /** The first value of a header (by lowercase full name), or undefined. */
  get(key: string): string | undefined {
    for (const item of this.items) if (item.key === key) return item.value;
    return undefined;
  }

  /** Every line of a header, in order (not split at commas). */
  getAll(key: string): string[] {
    const out: string[] = [];
    for (const item of this.items) if (item.key === key) out.push(item.value);
    return out;
  }

  /** Every value of a list header, header lines split at top-level commas. */
  values(key: string): string[] {
    const out: string[] = [];
    for (const item of this.items)
      if (item.key === key) for (const value of splitHeaderList(item.value)) out.push(value);
    return out;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  count(): number {
    return this.items.length;
  }

  append(name: string, value: string): this {
    const key = name.toLowerCase();
    this.items.push({ name: canonicalHeaderName(key), key, value });
    return this;
  }

  prepend(name: string, value: string): this {
    const key = name.toLowerCase();
    this.items.unshift({ name: canonicalHeaderName(key), key, value });
    return this;
  }

  /** Replaces every line of the header with one value, where the first one was. */
  set(name: string, value: string): this {
    const key = name.toLowerCase();
    const index = this.items.findIndex((item) => item.key === key);
    if (index < 0) return this.append(name, value);
    this.items[index] = { name: canonicalHeaderName(key), key, value };
    for (let i = this.items.length - 1; i > index; i--)
      if (this.items[i]?.key === key) this.items.splice(i, 1);
    return this;
  }

  remove(key: string): this {
    for (let i = this.items.length - 1; i >= 0; i--) if (this.items[i]?.key === key) this.items.splice(i, 1);
    return this;
  }

  /** Removes the first value of a list header (a proxy popping its Via or Route). */
  removeFirstValue(key: string): string | undefined {
    const index = this.items.findIndex((item) => item.key === key);
    if (index < 0) return undefined;
    const item = this.items[index] as SipHeader;
    const [first, ...rest] = splitHeaderList(item.value);
    if (rest.length === 0) this.items.splice(index, 1);
    else this.items[index] = { ...item, value: rest.join(", ") };
    return first;
  }

  entries(): readonly SipHeader[] {
    return this.items;
  }

  clone(): SipHeaders {
    return new SipHeaders(this.items.map((item) => ({ ...item })));
  }
}

/** Splits a header value at commas that are outside quotes and angle brackets. */
export function splitHeaderList(value: string): string[] {
  if (value.indexOf(",") < 0) {
    const trimmed = value.trim();
    return trimmed === "" ? [] : [trimmed];
  }
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  let angle = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (quoted) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) quoted = false;
    } else if (c === 34) quoted = true;
    else if (c === 60 /* < */) angle = true;
    else if (c === 62 /* > */) angle = false;
    else if (c === 44 /* , */ && !angle) {
      const part = value.slice(start, i).trim();
      if (part !== "") out.push(part);
      start = i + 1;
    }
  }
  const last = value.slice(start).trim();
  if (last !== "") out.push(last);
  return out;
}

/**
 * What the parser already parsed while validating a received message, kept so that the layers
 * above do not parse it again. It describes the message as received (the top Via with received
 * and rport applied); code that changes headers must not rely on it.
 */
export interface ParsedHeaders {
  topVia: Via;
  from: NameAddr;
  to: NameAddr;
  cseq: CSeq;
}

export interface SipRequest {
  kind: "request";
  method: string;
  uri: string;
  headers: SipHeaders;
  body: Buffer;
  parsed?: ParsedHeaders;
}

export interface SipResponse {
  kind: "response";
  status: number;
  reason: string;
  headers: SipHeaders;
  body: Buffer;
  parsed?: ParsedHeaders;
}

export type SipMessage = SipRequest | SipResponse;

const crlf = "\r\n";

/** Writes a message; Content-Length always states the body's byte length. */
export function serializeMessage(message: SipMessage): Buffer {
  let head =
    message.kind === "request"
      ? `${message.method} ${message.uri} SIP/2.0${crlf}`
      : `SIP/2.0 ${message.status} ${message.reason}${crlf}`;
  for (const header of message.headers.entries()) {
    if (header.key === "content-length") continue;
    head += `${header.name}: ${header.value}${crlf}`;
  }
  head += `Content-Length: ${message.body.length}${crlf}${crlf}`;
  if (message.body.length === 0) return Buffer.from(head, "utf8");
  return Buffer.concat([Buffer.from(head, "utf8"), message.body]);
}

export const reasonPhrases: Readonly<Record<number, string>> = {
  100: "Trying",
  180: "Ringing",
  183: "Session Progress",
  200: "OK",
  202: "Accepted",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  407: "Proxy Authentication Required",
  408: "Request Timeout",
  413: "Request Entity Too Large",
  414: "Request-URI Too Long",
  415: "Unsupported Media Type",
  416: "Unsupported URI Scheme",
  420: "Bad Extension",
  423: "Interval Too Brief",
  480: "Temporarily Unavailable",
  481: "Call/Transaction Does Not Exist",
  482: "Loop Detected",
  483: "Too Many Hops",
  486: "Busy Here",
  487: "Request Terminated",
  488: "Not Acceptable Here",
  500: "Server Internal Error",
  501: "Not Implemented",
  503: "Service Unavailable",
  504: "Server Time-out",
  505: "Version Not Supported",
  513: "Message Too Large",
  603: "Decline",
};

let tagCounter = 0;
const tagPrefix = Math.random().toString(36).slice(2, 8);

/** A fresh From/To tag (RFC 3261 section 19.3: globally unique, at least 32 bits of randomness). */
export function newTag(): string {
  tagCounter = (tagCounter + 1) % 0x7fffffff;
  return `${tagPrefix}${tagCounter.toString(36)}${Math.floor(Math.random() * 0xffffffff).toString(36)}`;
}

/**
 * A response to a request (RFC 3261 section 8.2.6): Via, From, Call-ID and CSeq copied, To
 * copied with a tag added for anything but 100 when the request had none.
 */
export function createResponse(
  request: SipRequest,
  status: number,
  options: {
    reason?: string;
    toTag?: string;
    headers?: ReadonlyArray<readonly [string, string]>;
    body?: Buffer;
  } = {},
): SipResponse {
  const headers = new SipHeaders();
  for (const header of request.headers.entries()) {
    if (header.key === "via" || header.key === "from" || header.key === "call-id" || header.key === "cseq") {
      headers.append(header.name, header.value);
    } else if (header.key === "to") {
      let value = header.value;
      if (status > 100 && !/;\s*tag\s*=/i.test(value)) value = `${value};tag=${options.toTag ?? newTag()}`;
      headers.append("To", value);
    }
  }
  for (const [name, value] of options.headers ?? []) headers.append(name, value);
  return {
    kind: "response",
    status,
    reason: options.reason ?? reasonPhrases[status] ?? "Unknown",
    headers,
    body: options.body ?? Buffer.alloc(0),
  };
}
