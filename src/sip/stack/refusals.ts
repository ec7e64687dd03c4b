import { createResponse, reasonPhrases, type SipRequest, type SipResponse } from "./message.js";

/**
 * Every refusal this server answers SIP requests with, named once (as Kamailio's registrar maps
 * its error enum to status and reason in one table, reply.c): the status, the reason phrase, the
 * text of the Warning header (RFC 3261 section 20.43) and any headers the answer needs. The
 * registrar, the method dispatch and the endpoint refuse by name; the router and announcements
 * reuse the same table. Pure protocol: the details (a disabled account's reason, a limit) come
 * in with the refusal.
 */
export type Refusal =
  /** A message the parser rejected, answered with the parser's status (400, 413, 505, 513). */
  | { name: "malformed_message"; status: number; detail: string }
  | { name: "bad_to" }
  | { name: "bad_contact" }
  /** The digest covers another URI than the Request-URI (RFC 2617 section 3.2.2.5: 400). */
  | { name: "digest_uri_mismatch" }
  /** The address-of-record is not one of the Request-URI's domain (RFC 3261 section 10.3 step 3). */
  | { name: "aor_not_in_domain"; domain: string }
  /** Option tags of Require this server does not support (RFC 3261 section 8.2.2.3). */
  | { name: "bad_extension"; unsupported: readonly string[] }
  | { name: "bad_star_contact" }
  /** Digest authentication needed (or to be retried: the challenges say stale=true). */
  | { name: "unauthorized"; challenges: readonly string[] }
  | { name: "rate_limited"; retryAfterSeconds: number }
  | { name: "credentials_mismatch" }
  | { name: "account_disabled"; detail: string | null }
  | { name: "account_not_activated" }
  | { name: "contacts_exceeded"; limit: number }
  | { name: "interval_too_brief"; minExpiresSeconds: number }
  | { name: "cseq_out_of_order" }
  | { name: "method_not_allowed"; allow: string }
  | { name: "server_error" }
  /** The router: a call or message needs the caller's credentials (proxy authentication). */
  | { name: "proxy_unauthorized"; challenges: readonly string[] }
  | { name: "bad_from" }
  | { name: "bad_request_uri" }
  | { name: "caller_mismatch" }
  | { name: "no_trunk" }
  | { name: "unknown_user" }
  | { name: "not_registered" }
  | { name: "callee_disabled" }
  | { name: "too_many_hops" }
  | { name: "loop_detected" }
  | { name: "no_transaction" }
  | { name: "no_common_codec" }
  | { name: "no_answer" }
  /** The final answer after a disabled caller's announcement, with the reason the caller hears. */
  | { name: "caller_disabled_announced"; detail: string | null }
  /** The final answer after "not available" was played to the caller of a disabled account. */
  | { name: "callee_unavailable_announced" };

export type RefusalName = Refusal["name"];

export interface RefusalAnswer {
  status: number;
  reason: string;
  /** The text of a `399 provisiond "..."` Warning, when the answer carries one. */
  warning?: string;
  /** Further headers, after the Warning. */
  headers?: ReadonlyArray<readonly [string, string]>;
}

const phrase = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  407: "Proxy Authentication Required",
  408: "Request Timeout",
  420: "Bad Extension",
  480: "Temporarily Unavailable",
  481: "Call/Transaction Does Not Exist",
  482: "Loop Detected",
  483: "Too Many Hops",
  488: "Not Acceptable Here",
  423: "Interval Too Brief",
  500: "Server Internal Error",
} as const;

const table: { [N in RefusalName]: (refusal: Extract<Refusal, { name: N }>) => RefusalAnswer } = {
  malformed_message: ({ status, detail }) => ({
    status,
    reason: reasonPhrases[status] ?? "Unknown",
    warning: detail,
  }),
  bad_to: () => ({ status: 400, reason: phrase[400], warning: "To must be the sip: address of an account" }),
  bad_contact: () => ({ status: 400, reason: phrase[400], warning: "malformed Contact" }),
  digest_uri_mismatch: () => ({
    status: 400,
    reason: phrase[400],
    warning: "the digest uri is not the Request-URI",
  }),
  aor_not_in_domain: ({ domain }) => ({
    status: 404,
    reason: phrase[404],
    warning: `the To address is not in the domain ${domain} of the Request-URI`,
  }),
  bad_extension: ({ unsupported }) => ({
    status: 420,
    reason: phrase[420],
    headers: [["Unsupported", unsupported.join(", ")]],
  }),
  bad_star_contact: () => ({
    status: 400,
    reason: phrase[400],
    warning: 'Contact "*" needs Expires: 0 and no other contact',
  }),
  unauthorized: ({ challenges }) => ({
    status: 401,
    reason: phrase[401],
    headers: challenges.map((value) => ["WWW-Authenticate", value] as const),
  }),
  rate_limited: ({ retryAfterSeconds }) => ({
    status: 403,
    reason: phrase[403],
    warning: "too many failed authentication attempts; try again later",
    headers: [["Retry-After", String(retryAfterSeconds)]],
  }),
  credentials_mismatch: () => ({
    status: 403,
    reason: phrase[403],
    warning: "credentials do not match the To address",
  }),
  account_disabled: ({ detail }) => ({
    status: 403,
    reason: phrase[403],
    warning: detail ? `account disabled: ${detail}` : "account disabled",
  }),
  account_not_activated: () => ({ status: 403, reason: phrase[403], warning: "account not activated yet" }),
  contacts_exceeded: ({ limit }) => ({
    status: 403,
    reason: phrase[403],
    warning: `at most ${limit} contacts per account`,
  }),
  interval_too_brief: ({ minExpiresSeconds }) => ({
    status: 423,
    reason: phrase[423],
    headers: [["Min-Expires", String(minExpiresSeconds)]],
  }),
  cseq_out_of_order: () => ({
    status: 500,
    reason: phrase[500],
    warning: "CSeq out of order for this Call-ID",
  }),
  method_not_allowed: ({ allow }) => ({ status: 405, reason: phrase[405], headers: [["Allow", allow]] }),
  server_error: () => ({ status: 500, reason: phrase[500] }),
  proxy_unauthorized: ({ challenges }) => ({
    status: 407,
    reason: phrase[407],
    headers: challenges.map((value) => ["Proxy-Authenticate", value] as const),
  }),
  bad_from: () => ({
    status: 400,
    reason: phrase[400],
    warning: "From must be the sip: address of an account",
  }),
  bad_request_uri: () => ({
    status: 400,
    reason: phrase[400],
    warning: "the Request-URI must be the sip: address of an account",
  }),
  caller_mismatch: () => ({
    status: 403,
    reason: phrase[403],
    warning: "credentials do not match the From address",
  }),
  no_trunk: () => ({
    status: 403,
    reason: phrase[403],
    warning: "calls and messages stay in the caller's SIP domain: no trunk is configured",
  }),
  unknown_user: () => ({ status: 404, reason: phrase[404], warning: "no such account in this domain" }),
  not_registered: () => ({
    status: 480,
    reason: phrase[480],
    warning: "the account called is not registered",
  }),
  callee_disabled: () => ({ status: 403, reason: phrase[403], warning: "the account called is disabled" }),
  too_many_hops: () => ({ status: 483, reason: phrase[483] }),
  loop_detected: () => ({ status: 482, reason: phrase[482] }),
  no_transaction: () => ({ status: 481, reason: phrase[481] }),
  no_common_codec: () => ({
    status: 488,
    reason: phrase[488],
    warning: "the offer has neither PCMU nor PCMA",
    headers: [["Accept", "application/sdp"]],
  }),
  no_answer: () => ({ status: 408, reason: phrase[408], warning: "no contact answered in time" }),
  caller_disabled_announced: ({ detail }) => ({
    status: 403,
    reason: phrase[403],
    headers: [["Reason", reasonValue(403, detail ? `account disabled: ${detail}` : "account disabled")]],
  }),
  callee_unavailable_announced: () => ({
    status: 480,
    reason: phrase[480],
    headers: [["Reason", reasonValue(480, "the account called is not available")]],
  }),
};

/** A Reason header value (RFC 3326) for a SIP status, with the text made safe for quotes. */
function reasonValue(cause: number, text: string): string {
  return `SIP;cause=${cause};text="${text.replace(/["\\]/g, "'")}"`;
}

/** The warn-agent of our Warning headers (RFC 3261 section 20.43). */
const warnAgent = "provisiond";

/** A Warning header value: code 399 (miscellaneous), our agent, the text with quotes made safe. */
export function warningValue(text: string): string {
  return `399 ${warnAgent} "${text.replace(/["\\]/g, "'")}"`;
}

/** What a refusal answers: status, reason and headers, in the order they go on the wire. */
export function refusalAnswer(refusal: Refusal): {
  status: number;
  reason: string;
  headers: Array<readonly [string, string]>;
} {
  const answer = (table[refusal.name] as (refusal: Refusal) => RefusalAnswer)(refusal);
  const headers: Array<readonly [string, string]> = [];
  if (answer.warning !== undefined) headers.push(["Warning", warningValue(answer.warning)]);
  if (answer.headers) headers.push(...answer.headers);
  return { status: answer.status, reason: answer.reason, headers };
}

/** Something that answers a request: a server transaction. */
export interface Replier {
  reply(
    status: number,
    options?: { reason?: string; headers?: ReadonlyArray<readonly [string, string]> },
  ): void;
}

/** Answers a server transaction with a refusal. */
export function refuse(tx: Replier, refusal: Refusal): void {
  const { status, reason, headers } = refusalAnswer(refusal);
  tx.reply(status, { reason, headers });
}

/** A refusal as a response to a request outside any transaction (a message the parser rejected). */
export function refusalResponse(request: SipRequest, refusal: Refusal): SipResponse {
  const { status, reason, headers } = refusalAnswer(refusal);
  return createResponse(request, status, { reason, headers });
}
