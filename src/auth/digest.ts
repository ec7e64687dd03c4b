import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Clock } from "../clock.js";

/**
 * Server-side HTTP/SIP digest authentication (RFC 7616, RFC 8760 for SIP), transport-agnostic:
 * the SIP registrar and the HTTP license proxy both use it.
 *
 * Nonces are self-validating (issue time, random part and an HMAC over both and the realm), so
 * any process that shares the secret accepts them and nothing is stored at challenge time. The
 * only state is the highest nonce-count seen per nonce, for replay detection; it is bounded and
 * forgets in a way that can only make a client re-authenticate, never accept a replay.
 */

export type DigestAlgorithm = "MD5" | "SHA-256";

export interface DigestCredentials {
  /** H(username:realm:password) with MD5, lowercase hex; null when the store has none. */
  ha1Md5: string | null;
  /** H(username:realm:password) with SHA-256, lowercase hex; null when the store has none. */
  ha1Sha256: string | null;
}

export interface DigestAuthenticatorOptions {
  secret: string | Buffer;
  nonceTtlMs: number;
  clock: Clock;
  /** How many used nonces to remember for nonce-count checks (memory bound). */
  maxTrackedNonces?: number;
  /** What the challenge offers, in order. RFC 8760: the preferred algorithm first. */
  algorithms?: readonly DigestAlgorithm[];
}

export interface DigestVerifyInput {
  /** The Authorization or Proxy-Authorization header value. */
  authorization: string;
  method: string;
  realm: string;
  credentials(username: string): Promise<DigestCredentials | null>;
  /** What this realm accepts (the realm's own setting); the authenticator's list when absent. */
  algorithms?: readonly DigestAlgorithm[];
}

export type DigestVerifyResult =
  | { ok: true; username: string; algorithm: DigestAlgorithm }
  | { ok: false; reason: string; stale: boolean; username?: string };

export interface DigestResponseParams {
  username: string;
  realm: string;
  nonce: string;
  uri: string;
  response: string;
  algorithm: DigestAlgorithm;
  qop: string | undefined;
  nc: string | undefined;
  cnonce: string | undefined;
  opaque: string | undefined;
}

const nonceRandomBytes = 12;
const nonceMacBytes = 16;
const nonceBytes = 8 + nonceRandomBytes + nonceMacBytes;

export function digestHash(algorithm: DigestAlgorithm, data: string): string {
  return createHash(algorithm === "MD5" ? "md5" : "sha256")
    .update(data, "utf8")
    .digest("hex");
}

/** HA1 = H(username:realm:password), as the accounts store keeps it. */
export function digestHa1(
  algorithm: DigestAlgorithm,
  username: string,
  realm: string,
  password: string,
): string {
  return digestHash(algorithm, `${username}:${realm}:${password}`);
}

/** The request-digest for qop=auth (RFC 7616 section 3.4.1); without qop, RFC 2069's form. */
export function digestResponse(input: {
  algorithm: DigestAlgorithm;
  ha1: string;
  method: string;
  uri: string;
  nonce: string;
  qop?: string | undefined;
  nc?: string | undefined;
  cnonce?: string | undefined;
}): string {
  const ha2 = digestHash(input.algorithm, `${input.method}:${input.uri}`);
  if (input.qop === undefined) return digestHash(input.algorithm, `${input.ha1}:${input.nonce}:${ha2}`);
  return digestHash(
    input.algorithm,
    `${input.ha1}:${input.nonce}:${input.nc ?? ""}:${input.cnonce ?? ""}:${input.qop}:${ha2}`,
  );
}

/**
 * Parses `Digest k=v, k="v", ...` into lowercase keys. Returns null for another scheme or a
 * malformed list; never throws.
 */
export function parseDigestParams(header: string): Map<string, string> | null {
  let i = 0;
  const n = header.length;
  while (i < n && (header[i] === " " || header[i] === "\t")) i++;
  if (header.slice(i, i + 6).toLowerCase() !== "digest") return null;
  i += 6;
  if (i < n && header[i] !== " " && header[i] !== "\t") return null;
  const params = new Map<string, string>();
  while (i < n) {
    while (
      i < n &&
      (header[i] === " " ||
        header[i] === "\t" ||
        header[i] === "," ||
        header[i] === "\r" ||
        header[i] === "\n")
    )
      i++;
    if (i >= n) break;
    const eq = header.indexOf("=", i);
    if (eq < 0) return null;
    const key = header.slice(i, eq).trim().toLowerCase();
    if (key === "" || /[\s",]/.test(key)) return null;
    i = eq + 1;
    while (i < n && (header[i] === " " || header[i] === "\t")) i++;
    let value: string;
    if (header[i] === '"') {
      i++;
      let out = "";
      for (;;) {
        if (i >= n) return null;
        const c = header[i] as string;
        if (c === "\\") {
          if (i + 1 >= n) return null;
          out += header[i + 1];
          i += 2;
        } else if (c === '"') {
          i++;
          break;
        } else {
          out += c;
          i++;
        }
      }
      value = out;
    } else {
      let end = header.indexOf(",", i);
      if (end < 0) end = n;
      value = header.slice(i, end).trim();
      i = end;
    }
    if (params.has(key)) return null;
    params.set(key, value);
  }
  return params;
}

function parseAlgorithm(value: string | undefined): DigestAlgorithm | null {
  if (value === undefined) return "MD5";
  const upper = value.toUpperCase();
  if (upper === "MD5") return "MD5";
  if (upper === "SHA-256") return "SHA-256";
  return null;
}

function safeEqualHex(a: string, b: string): boolean {
  const left = Buffer.from(a.toLowerCase(), "utf8");
  const right = Buffer.from(b, "utf8");
  return left.length === right.length && timingSafeEqual(left, right);
}

function quote(value: string): string {
  return `"${value.replace(/["\\]/g, "\\$&")}"`;
}

const invalidCredentials = "invalid credentials";

/** The issue time written into a nonce this class made (already checked by its HMAC). */
function nonceIssueTime(nonce: string): number {
  return Number(Buffer.from(nonce.slice(0, 11), "base64url").readBigUInt64BE(0));
}

export class DigestAuthenticator {
  private readonly key: Buffer;
  private readonly standInKey: string;
  private readonly nonceTtlMs: number;
  private readonly clock: Clock;
  private readonly maxTrackedNonces: number;
  private readonly algorithms: readonly DigestAlgorithm[];
  /** nonce -> highest nonce-count accepted, in first-use order. */
  private nonceCounts = new Map<string, number>();
  private previousNonceCounts = new Map<string, number>();
  private generationStartedAt: number;
  private previousGenerationStartedAt = Number.NEGATIVE_INFINITY;
  /** Nonces issued at or before this time that are not tracked any more count as used. */
  private forgottenBeforeMs = Number.NEGATIVE_INFINITY;

  constructor(options: DigestAuthenticatorOptions) {
    this.key = createHash("sha256").update("provisiond digest nonce\0").update(options.secret).digest();
    this.standInKey = this.key.toString("hex");
    this.nonceTtlMs = options.nonceTtlMs;
    this.clock = options.clock;
    this.maxTrackedNonces = options.maxTrackedNonces ?? 1_000_000;
    this.generationStartedAt = options.clock.now().getTime();
    this.algorithms = options.algorithms ?? ["SHA-256", "MD5"];
  }

  /** Header values for WWW-Authenticate or Proxy-Authenticate, one per offered algorithm. */
  challenge(
    realm: string,
    options: { stale?: boolean; algorithms?: readonly DigestAlgorithm[] } = {},
  ): string[] {
    const nonce = this.issueNonce(realm);
    const stale = options.stale ? ", stale=true" : "";
    return (options.algorithms ?? this.algorithms).map(
      (algorithm) =>
        `Digest realm=${quote(realm)}, nonce="${nonce}", algorithm=${algorithm}, qop="auth"${stale}`,
    );
  }

  async verify(input: DigestVerifyInput): Promise<DigestVerifyResult> {
    const params = parseDigestParams(input.authorization);
    if (!params) return { ok: false, reason: "malformed authorization", stale: false };
    const username = params.get("username");
    const realm = params.get("realm");
    const nonce = params.get("nonce");
    const uri = params.get("uri");
    const response = params.get("response");
    if (
      username === undefined ||
      realm === undefined ||
      nonce === undefined ||
      uri === undefined ||
      response === undefined
    ) {
      return { ok: false, reason: "authorization lacks a required parameter", stale: false };
    }
    const fail = (reason: string, stale = false): DigestVerifyResult => ({
      ok: false,
      reason,
      stale,
      username,
    });
    if (realm !== input.realm) return fail("wrong realm");
    const algorithm = parseAlgorithm(params.get("algorithm"));
    if (!algorithm || !(input.algorithms ?? this.algorithms).includes(algorithm))
      return fail("unsupported algorithm");
    const qop = params.get("qop");
    const nc = params.get("nc");
    const cnonce = params.get("cnonce");
    // We always offer qop="auth" (RFC 7616 requires the client to use it): without it there is no
    // nonce-count and so no replay protection.
    if (qop === undefined || qop.toLowerCase() !== "auth") return fail("qop=auth required");
    if (nc === undefined || !/^[0-9a-fA-F]{8}$/.test(nc) || cnonce === undefined || cnonce === "") {
      return fail("nc and cnonce required");
    }
    const nonceState = this.checkNonce(nonce, realm);
    if (nonceState === "invalid") return fail("invalid nonce");

    const credentials = await input.credentials(username);
    const ha1 = credentials ? (algorithm === "MD5" ? credentials.ha1Md5 : credentials.ha1Sha256) : null;
    // Unknown user, no HA1 for this algorithm and a wrong password all end here alike; the same
    // hashes are computed in every case (the stand-in HA1 too) so the time taken says nothing
    // either. The credentials lookup itself answers unknown names from memory as fast as known
    // ones (src/sip/subscribers.ts keeps both).
    const standIn = digestHash(algorithm, `${username}:${realm}:${this.standInKey}`);
    const expected = digestResponse({
      algorithm,
      ha1: ha1 ?? standIn,
      method: input.method,
      uri,
      nonce,
      qop: "auth",
      nc,
      cnonce,
    });
    const matches = safeEqualHex(response, expected);
    if (!matches || ha1 === null) return fail(invalidCredentials);
    // Only someone who knows the password is told the nonce is stale, so they re-send at once.
    if (nonceState === "expired") return fail("nonce expired", true);
    if (!this.acceptNonceCount(nonce, Number.parseInt(nc, 16))) return fail("nonce count replayed", true);
    return { ok: true, username, algorithm };
  }

  private mac(payload: Buffer, realm: string): Buffer {
    return createHmac("sha256", this.key)
      .update(payload)
      .update(realm, "utf8")
      .digest()
      .subarray(0, nonceMacBytes);
  }

  private issueNonce(realm: string): string {
    const payload = Buffer.alloc(8 + nonceRandomBytes);
    payload.writeBigUInt64BE(BigInt(this.clock.now().getTime()), 0);
    this.randomInto(payload, 8, nonceRandomBytes);
    return Buffer.concat([payload, this.mac(payload, realm)]).toString("base64url");
  }

  /** Random bytes from a pooled block: one getrandom call per 4 KiB instead of one per nonce. */
  private randomPool = Buffer.alloc(0);
  private randomOffset = 0;
  private randomInto(target: Buffer, offset: number, length: number): void {
    if (this.randomOffset + length > this.randomPool.length) {
      this.randomPool = randomBytes(4096);
      this.randomOffset = 0;
    }
    this.randomPool.copy(target, offset, this.randomOffset, this.randomOffset + length);
    this.randomOffset += length;
  }

  private issuedAt(nonce: string, realm: string): number | null {
    if (nonce.length !== Math.ceil((nonceBytes * 4) / 3) || !/^[A-Za-z0-9_-]+$/.test(nonce)) return null;
    const raw = Buffer.from(nonce, "base64url");
    if (raw.length !== nonceBytes) return null;
    const payload = raw.subarray(0, 8 + nonceRandomBytes);
    if (!timingSafeEqual(raw.subarray(8 + nonceRandomBytes), this.mac(payload, realm))) return null;
    return Number(payload.readBigUInt64BE(0));
  }

  private checkNonce(nonce: string, realm: string): "valid" | "expired" | "invalid" {
    const issued = this.issuedAt(nonce, realm);
    if (issued === null) return "invalid";
    const age = this.clock.now().getTime() - issued;
    if (age > this.nonceTtlMs) return "expired";
    // A nonce from the future by more than a little clock skew between processes is forged or broken.
    if (age < -5000) return "invalid";
    return "valid";
  }

  /** Accepts each nonce-count once and only in increasing order (RFC 7616 section 3.4). */
  private acceptNonceCount(nonce: string, count: number): boolean {
    if (count < 1) return false;
    this.rotateNonceGenerations();
    const last = this.nonceCounts.get(nonce) ?? this.previousNonceCounts.get(nonce);
    if (last === undefined) {
      if (nonceIssueTime(nonce) <= this.forgottenBeforeMs) return false;
    } else if (count <= last) {
      return false;
    }
    this.nonceCounts.set(nonce, count);
    return true;
  }

  /**
   * Nonce-counts are kept in two generations, each covering at most one nonce lifetime (or half
   * the memory bound). Dropping the older one forgets only nonces first used before the newer
   * one began: those were issued earlier still, and forgottenBeforeMs makes them count as used.
   * Whole maps are dropped, never entries one by one: a Map used as a queue makes V8 step over
   * every deleted entry on each scan, which grew the cost of each REGISTER over time.
   */
  private rotateNonceGenerations(): void {
    const now = this.clock.now().getTime();
    const full = this.nonceCounts.size >= this.maxTrackedNonces / 2;
    if (now - this.generationStartedAt < this.nonceTtlMs && !full) return;
    this.forgottenBeforeMs = Math.max(this.forgottenBeforeMs, this.previousGenerationStartedAt);
    this.previousNonceCounts = this.nonceCounts;
    this.previousGenerationStartedAt = this.generationStartedAt;
    this.nonceCounts = new Map();
    this.generationStartedAt = now;
  }
}
