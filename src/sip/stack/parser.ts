import type { ContactList, CSeq, NameAddr, Params, SipUri, Via } from "./grammar.js";
import {
  canonicalHeaderName,
  compactHeaderNames,
  type SipHeader,
  SipHeaders,
  type SipMessage,
  splitHeaderList,
} from "./message.js";

export type { ContactList, CSeq, NameAddr, Params, SipUri, Via } from "./grammar.js";

/**
 * The SIP parser (RFC 3261 section 7 and 25). indexOf-based: it finds lines and the header/body
 * boundary in the raw bytes, keeps header values as strings and parses structured headers only
 * when asked. Every input ends as a message or a rejection with a reason; nothing here throws on
 * bad input, so no byte string can take a transport down.
 */

export interface ParserLimits {
  /** Largest whole message (start line, headers and body), in bytes. */
  maxMessageBytes: number;
  /** Most header lines (after unfolding). */
  maxHeaders: number;
  /** Longest single line (after unfolding), in characters. */
  maxLineLength: number;
}

export const defaultParserLimits: ParserLimits = {
  maxMessageBytes: 65_535,
  maxHeaders: 128,
  maxLineLength: 8_192,
};

export type ParseResult =
  | { ok: true; message: SipMessage }
  | {
      ok: false;
      reason: string;
      /** The status to answer with when the request is complete enough to answer (400, 413, 505, ...). */
      status: number;
      /** What could be parsed, so the caller can build a response (Via, From, To, Call-ID, CSeq). */
      partial?: SipMessage;
    };

const emptyBody = Buffer.alloc(0);
const methodPattern = /^[A-Za-z0-9.!%*_+`'~-]+$/;
const headerNamePattern = /^[A-Za-z0-9.!%*_+`'~-]+$/;
const mandatoryRequestHeaders = ["via", "from", "to", "call-id", "cseq"] as const;
const servedSchemes: ReadonlySet<string> = new Set(["sip", "sips", "tel"]);

/** The scheme of an absolute URI (RFC 3986 section 3.1), lowercased; null when there is none. */
export function uriScheme(text: string): string | null {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):\S/.exec(text);
  return match ? (match[1] as string).toLowerCase() : null;
}

/** Where the header block of a message ends: the offset of the body, or -1 when not complete yet. */
export function findBodyStart(buffer: Buffer, from = 0): number {
  const crlf = buffer.indexOf("\r\n\r\n", from, "latin1");
  const lf = buffer.indexOf("\n\n", from, "latin1");
  if (crlf < 0 && lf < 0) return -1;
  if (crlf >= 0 && (lf < 0 || crlf + 1 <= lf)) return crlf + 4;
  return lf + 2;
}

/** Reads Content-Length (or `l`) from a raw header block; null when absent, NaN when malformed. */
export function readContentLength(head: string): number | null {
  let found: number | null = null;
  let lineStart = 0;
  while (lineStart < head.length) {
    let lineEnd = head.indexOf("\n", lineStart);
    if (lineEnd < 0) lineEnd = head.length;
    const colon = head.indexOf(":", lineStart);
    if (colon > lineStart && colon < lineEnd) {
      const name = head.slice(lineStart, colon).trim().toLowerCase();
      if (name === "content-length" || name === "l") {
        const raw = head.slice(colon + 1, lineEnd).trim();
        const value = /^[0-9]{1,10}$/.test(raw) ? Number(raw) : Number.NaN;
        if (found !== null && found !== value) return Number.NaN;
        found = value;
      }
    }
    lineStart = lineEnd + 1;
  }
  return found;
}

/**
 * Parses one datagram or one framed stream message. For datagrams a missing Content-Length means
 * "the rest of the datagram" and extra bytes after the body are dropped (RFC 3261 section 18.3);
 * `stream` makes Content-Length mandatory.
 */
export function parseMessage(
  buffer: Buffer,
  limits: ParserLimits = defaultParserLimits,
  options: { stream?: boolean } = {},
): ParseResult {
  if (buffer.length > limits.maxMessageBytes) return { ok: false, reason: "message too large", status: 513 };
  let offset = 0;
  // RFC 3261 section 7.5: ignore CRLFs before the start line (keep-alives on streams).
  while (offset < buffer.length && (buffer[offset] === 13 || buffer[offset] === 10)) offset++;
  if (offset === buffer.length) return { ok: false, reason: "empty message", status: 0 };
  const bodyStart = findBodyStart(buffer, offset);
  const headEnd = bodyStart < 0 ? buffer.length : bodyStart;
  const head = buffer.toString("utf8", offset, headEnd);

  const lines = splitLines(head);
  const first = lines[0] ?? "";
  if (first.length > limits.maxLineLength) return { ok: false, reason: "start line too long", status: 0 };
  const start = parseStartLine(first);
  if (typeof start === "string") return { ok: false, reason: start, status: 0 };

  const items: SipHeader[] = [];
  let headerError: string | null = null;
  for (let i = 1; i < lines.length; i++) {
    let line = lines[i] as string;
    if (line === "") break;
    // Header folding (RFC 3261 section 7.3.1): a line starting with whitespace continues the last.
    while (i + 1 < lines.length && (lines[i + 1]?.startsWith(" ") || lines[i + 1]?.startsWith("\t"))) {
      line += ` ${(lines[i + 1] as string).trim()}`;
      i++;
      if (line.length > limits.maxLineLength) break;
    }
    if (line.length > limits.maxLineLength) {
      headerError ??= "header line too long";
      break;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) {
      headerError ??= "malformed header line";
      continue;
    }
    const rawName = line.slice(0, colon).trim();
    if (!headerNamePattern.test(rawName)) {
      headerError ??= "malformed header name";
      continue;
    }
    const lower = rawName.toLowerCase();
    const key = compactHeaderNames[lower] ?? lower;
    items.push({ name: canonicalHeaderName(key), key, value: line.slice(colon + 1).trim() });
    if (items.length > limits.maxHeaders) {
      headerError ??= "too many headers";
      break;
    }
  }
  const headers = new SipHeaders(items);
  const bodyOffset = bodyStart < 0 ? buffer.length : bodyStart;
  const partial: SipMessage =
    start.kind === "request"
      ? { kind: "request", method: start.method, uri: start.uri, headers, body: Buffer.alloc(0) }
      : { kind: "response", status: start.status, reason: start.reason, headers, body: Buffer.alloc(0) };
  const reject = (reason: string, status = 400): ParseResult => ({ ok: false, reason, status, partial });

  if (start.version !== "SIP/2.0") return reject("unsupported SIP version", 505);
  if (headerError) return reject(headerError, headerError === "too many headers" ? 513 : 400);
  if (bodyStart < 0 && options.stream) return reject("incomplete header section");

  for (const key of ["from", "to", "call-id", "cseq", "max-forwards", "content-length", "content-type"]) {
    if (headers.getAll(key).length > 1) return reject(`more than one ${canonicalHeaderName(key)} header`);
  }
  const lengthValue = headers.get("content-length");
  let contentLength: number | null = null;
  if (lengthValue !== undefined) {
    if (!/^[0-9]{1,10}$/.test(lengthValue)) return reject("malformed Content-Length");
    contentLength = Number(lengthValue);
  } else if (options.stream) {
    return reject("Content-Length is required on stream transports");
  }
  const available = buffer.length - bodyOffset;
  if (contentLength !== null && contentLength > available) return reject("body shorter than Content-Length");
  const body = buffer.subarray(bodyOffset, bodyOffset + (contentLength ?? available));
  if (body.length > 0 && !headers.has("content-type")) return reject("body without Content-Type");

  for (const key of mandatoryRequestHeaders) {
    if (start.kind === "request" && !headers.has(key))
      return reject(`missing ${canonicalHeaderName(key)} header`);
  }
  if (start.kind === "response" && (!headers.has("via") || !headers.has("cseq") || !headers.has("call-id"))) {
    return reject("response lacks Via, CSeq or Call-ID");
  }
  const cseq = parseCSeq(headers.get("cseq") ?? "");
  if (!cseq) return reject("malformed CSeq");
  if (start.kind === "request" && cseq.method !== start.method)
    return reject("CSeq method differs from the request method");
  const maxForwards = headers.get("max-forwards");
  if (maxForwards !== undefined && !/^[0-9]{1,10}$/.test(maxForwards))
    return reject("malformed Max-Forwards");
  const topVia = parseVia(headers.values("via")[0] ?? "");
  if (topVia?.protocol !== "SIP/2.0") return reject("malformed Via");
  const from = parseNameAddr(headers.get("from") ?? "");
  const to = parseNameAddr(headers.get("to") ?? "");
  if (!from || !to) return reject("malformed From or To");
  if (start.kind === "request" && !parseUri(start.uri)) {
    // RFC 3261 section 8.2.2.1: a well-formed URI of a scheme we do not serve is 416, not 400.
    const scheme = uriScheme(start.uri);
    if (scheme !== null && !servedSchemes.has(scheme)) return reject(`unsupported URI scheme ${scheme}`, 416);
    return reject("malformed Request-URI", 400);
  }

  const message: SipMessage = {
    ...partial,
    body: body.length === 0 ? emptyBody : Buffer.from(body),
    parsed: { topVia, from, to, cseq },
  };
  return { ok: true, message };
}

function splitLines(head: string): string[] {
  const lines = head.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.endsWith("\r")) lines[i] = line.slice(0, -1);
  }
  return lines;
}

type StartLine =
  | { kind: "request"; method: string; uri: string; version: string }
  | { kind: "response"; status: number; reason: string; version: string };

function parseStartLine(line: string): StartLine | string {
  if (line.startsWith("SIP/")) {
    const firstSpace = line.indexOf(" ");
    if (firstSpace < 0) return "malformed status line";
    const version = line.slice(0, firstSpace).toUpperCase();
    const rest = line.slice(firstSpace + 1);
    const secondSpace = rest.indexOf(" ");
    const code = secondSpace < 0 ? rest : rest.slice(0, secondSpace);
    if (!/^[1-6][0-9][0-9]$/.test(code)) return "malformed status code";
    return {
      kind: "response",
      status: Number(code),
      reason: secondSpace < 0 ? "" : rest.slice(secondSpace + 1),
      version,
    };
  }
  const firstSpace = line.indexOf(" ");
  const lastSpace = line.lastIndexOf(" ");
  if (firstSpace <= 0 || lastSpace === firstSpace) return "malformed request line";
  const method = line.slice(0, firstSpace);
  const uri = line.slice(firstSpace + 1, lastSpace);
  const version = line.slice(lastSpace + 1).toUpperCase();
  if (!methodPattern.test(method)) return "malformed method";
  if (uri === "" || /\s/.test(uri)) return "malformed Request-URI";
  if (!version.startsWith("SIP/")) return "malformed request line";
  return { kind: "request", method, uri, version };
}

// ---------------------------------------------------------------- structured header values

/** `;a=b;c` -> Map{a: "b", c: null}; names lowercased, values kept (unquoted). */
export function parseParams(text: string): Params | null {
  const params: Params = new Map();
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && (text[i] === " " || text[i] === "\t")) i++;
    if (i >= n) break;
    if (text[i] !== ";") return null;
    i++;
    let end = i;
    while (end < n && text[end] !== "=" && text[end] !== ";") end++;
    const name = text.slice(i, end).trim().toLowerCase();
    if (name === "" || !headerNamePattern.test(name)) return null;
    i = end;
    let value: string | null = null;
    if (text[i] === "=") {
      i++;
      while (i < n && (text[i] === " " || text[i] === "\t")) i++;
      if (text[i] === '"') {
        const close = findClosingQuote(text, i);
        if (close < 0) return null;
        value = unescapeQuoted(text.slice(i + 1, close));
        i = close + 1;
      } else {
        let vend = i;
        while (vend < n && text[vend] !== ";") vend++;
        value = text.slice(i, vend).trim();
        if (value === "" || /[\s"<>]/.test(value)) return null;
        i = vend;
      }
    }
    params.set(name, value);
  }
  return params;
}

function findClosingQuote(text: string, open: number): number {
  for (let i = open + 1; i < text.length; i++) {
    if (text[i] === "\\") i++;
    else if (text[i] === '"') return i;
  }
  return -1;
}

function unescapeQuoted(text: string): string {
  return text.indexOf("\\") < 0 ? text : text.replace(/\\(.)/g, "$1");
}

/** sip:, sips: (and tel:) URIs, RFC 3261 section 19.1. Returns null for anything malformed. */
export function parseUri(text: string): SipUri | null {
  const colon = text.indexOf(":");
  if (colon <= 0) return null;
  const scheme = text.slice(0, colon).toLowerCase();
  if (scheme === "tel") {
    const rest = text.slice(colon + 1);
    const semi = rest.indexOf(";");
    const number = semi < 0 ? rest : rest.slice(0, semi);
    const params = semi < 0 ? new Map() : parseParams(rest.slice(semi));
    if (!/^\+?[0-9A-Fa-f*#.()-]+$/.test(number) || !params) return null;
    return { scheme: "tel", user: number, password: null, host: "", port: null, params, headers: null };
  }
  if (scheme !== "sip" && scheme !== "sips") return null;
  let rest = text.slice(colon + 1);
  let user: string | null = null;
  let password: string | null = null;
  // "@" may appear neither in URI parameters nor in URI headers unescaped, but the user part may
  // hold ";", "?" and "," (RFC 4475 section 3.1.1.6), so userinfo ends at the first "@".
  const at = rest.indexOf("@");
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const pw = userinfo.indexOf(":");
    user = pw < 0 ? userinfo : userinfo.slice(0, pw);
    password = pw < 0 ? null : userinfo.slice(pw + 1);
    if (user === "" || /[\s<>"]/.test(userinfo)) return null;
  }
  let headers: string | null = null;
  const question = rest.indexOf("?");
  if (question >= 0) {
    headers = rest.slice(question + 1);
    rest = rest.slice(0, question);
  }
  const semi = rest.indexOf(";");
  const hostport = semi < 0 ? rest : rest.slice(0, semi);
  const params = semi < 0 ? new Map<string, string | null>() : parseParams(rest.slice(semi));
  if (!params) return null;
  const hp = parseHostPort(hostport);
  if (!hp) return null;
  return { scheme, user, password, host: hp.host, port: hp.port, params, headers };
}

export function parseHostPort(text: string): { host: string; port: number | null } | null {
  let host: string;
  let portText: string | null = null;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0) return null;
    host = text.slice(0, close + 1);
    if (!/^\[[0-9A-Fa-f:.]+\]$/.test(host)) return null;
    const after = text.slice(close + 1);
    if (after !== "") {
      if (!after.startsWith(":")) return null;
      portText = after.slice(1);
    }
  } else {
    const colon = text.indexOf(":");
    host = colon < 0 ? text : text.slice(0, colon);
    portText = colon < 0 ? null : text.slice(colon + 1);
    if (!/^[A-Za-z0-9.-]+$/.test(host) || host.startsWith(".") || host.startsWith("-")) return null;
  }
  if (host === "") return null;
  let port: number | null = null;
  if (portText !== null) {
    if (!/^[0-9]{1,5}$/.test(portText)) return null;
    port = Number(portText);
    if (port > 65535) return null;
  }
  return { host: host.toLowerCase(), port };
}

/** `"Name" <sip:u@h>;tag=x`, `Name <sip:u@h>`, or a bare `sip:u@h;tag=x` (RFC 3261 section 20.10). */
export function parseNameAddr(text: string): NameAddr | null {
  const value = text.trim();
  let displayName: string | null = null;
  let uri: string;
  let rest: string;
  const open = value.indexOf("<");
  let afterDisplay = 0;
  if (value.startsWith('"')) {
    const close = findClosingQuote(value, 0);
    if (close < 0) return null;
    displayName = unescapeQuoted(value.slice(1, close));
    afterDisplay = close + 1;
  }
  const lt = displayName !== null ? value.indexOf("<", afterDisplay) : open;
  if (lt >= 0) {
    if (displayName === null) {
      const name = value.slice(0, lt).trim();
      if (name !== "") displayName = name;
    } else if (value.slice(afterDisplay, lt).trim() !== "") return null;
    const gt = value.indexOf(">", lt);
    if (gt < 0) return null;
    uri = value.slice(lt + 1, gt).trim();
    rest = value.slice(gt + 1);
  } else {
    if (displayName !== null) return null;
    // addr-spec without brackets: parameters after the URI belong to the header, not to the URI.
    const semi = value.indexOf(";");
    uri = (semi < 0 ? value : value.slice(0, semi)).trim();
    rest = semi < 0 ? "" : value.slice(semi);
    if (/[\s,?]/.test(uri)) return null;
  }
  const parsedUri = parseUri(uri);
  if (!parsedUri) return null;
  const params = parseParams(rest);
  if (!params) return null;
  return { displayName, uri, parsedUri, params };
}

/** `SIP/2.0/UDP host:port;branch=z9hG4bK...;rport` (RFC 3261 section 20.42, RFC 3581). */
export function parseVia(text: string): Via | null {
  const value = text.trim();
  const slash1 = value.indexOf("/");
  const slash2 = value.indexOf("/", slash1 + 1);
  if (slash1 < 0 || slash2 < 0) return null;
  const protocol = `${value.slice(0, slash1).trim()}/${value.slice(slash1 + 1, slash2).trim()}`.toUpperCase();
  let i = slash2 + 1;
  while (i < value.length && (value[i] === " " || value[i] === "\t")) i++;
  let j = i;
  while (j < value.length && value[j] !== " " && value[j] !== "\t") j++;
  const transport = value.slice(i, j).toUpperCase();
  // Any SIP version is read, so that a request of another version can still be answered (505);
  // the message parser refuses a top Via that is not SIP/2.0.
  if (!/^[A-Z0-9.!%*_+`'~-]+$/.test(transport) || !/^SIP\/[0-9]{1,3}\.[0-9]{1,3}$/.test(protocol))
    return null;
  const rest = value.slice(j).trim();
  const semi = rest.indexOf(";");
  const hostport = (semi < 0 ? rest : rest.slice(0, semi)).replace(/\s+/g, "");
  const hp = parseHostPort(hostport);
  if (!hp) return null;
  const params = semi < 0 ? new Map<string, string | null>() : parseParams(rest.slice(semi));
  if (!params) return null;
  const branch = params.get("branch") ?? null;
  return { protocol, transport, host: hp.host, port: hp.port, params, branch };
}

export function formatParams(params: Params): string {
  let out = "";
  for (const [name, value] of params) out += value === null ? `;${name}` : `;${name}=${value}`;
  return out;
}

export function formatVia(via: Via): string {
  return `${via.protocol}/${via.transport} ${via.host}${via.port === null ? "" : `:${via.port}`}${formatParams(via.params)}`;
}

export function parseCSeq(text: string): CSeq | null {
  const value = text.trim();
  const space = value.search(/\s/);
  if (space <= 0) return null;
  const number = value.slice(0, space);
  const method = value.slice(space).trim();
  if (!/^[0-9]{1,10}$/.test(number) || !methodPattern.test(method)) return null;
  const seq = Number(number);
  if (seq > 0x7fffffff) return null;
  return { seq, method };
}

/** Contact: `*` or a list of name-addrs with their parameters (RFC 3261 section 20.10). */
export function parseContacts(lines: readonly string[]): ContactList | null {
  const values = lines.flatMap((line) => splitHeaderList(line));
  if (values.length === 1 && values[0]?.trim() === "*") return { star: true };
  const contacts: NameAddr[] = [];
  for (const value of values) {
    if (value.trim() === "*") return null;
    const contact = parseNameAddr(value);
    if (!contact) return null;
    contacts.push(contact);
  }
  return { star: false, contacts };
}

/** The tag parameter of a From or To header value, or null. */
export function tagOf(value: string | undefined): string | null {
  if (value === undefined) return null;
  const parsed = parseNameAddr(value);
  const tag = parsed?.params.get("tag");
  return tag ?? null;
}
