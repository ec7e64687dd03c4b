import { timingSafeEqual } from "node:crypto";
import { type DigestAlgorithm, digestHash } from "./digest.js";

interface Session {
  username: string;
  realm: string;
  algorithm: DigestAlgorithm;
  ha1: string;
  lastNc: number;
  expiresAt: number;
}

export type SessionVerdict =
  /** The header continues a session with a higher nonce-count and the right response. */
  | { kind: "ok"; username: string }
  /** A nonce-count already used: a replay, or requests overtaking each other. */
  | { kind: "replayed" }
  /** The session's user with a wrong response (a guess with someone's nonce): counts as a failure. */
  | { kind: "invalid" }
  /** The nonce has a session this header does not fit (other user, realm, algorithm, password changed): re-challenge. */
  | { kind: "stale" }
  /** No session for this nonce: the full verification decides. */
  | { kind: "unknown" };

/**
 * Cheap nonce handling for clients that keep their nonce (as apps checking every few minutes
 * do): after the DigestAuthenticator has verified a nonce once (its HMAC, expiry, the password),
 * later requests with the same nonce are checked here with one hash instead of a full
 * verification.
 *
 * Replay safety rests on one rule: while a nonce has a session, the full verification never
 * sees that nonce (its own nonce-count record stops at the count that opened the session).
 * Anything that does not fit the session is refused as stale, so the client takes a new nonce;
 * sessions end only when their nonce expires, when the authenticator refuses it anyway, and
 * are never evicted early (when the table is full, new nonces simply stay on the full path).
 */
export class DigestSessions {
  private readonly sessions = new Map<string, Session>();
  private readonly ha2Cache = new Map<string, string>();

  constructor(
    private readonly nonceTtlMs: number,
    private readonly now: () => number,
    private readonly maxSessions = 200_000,
  ) {}

  /**
   * Checks a header against its nonce's session. `currentHa1` answers the stored HA1 of the
   * session's user now, so a changed password ends what the old one opened.
   */
  async verify(input: {
    /** The Authorization header's parameters (parseDigestParams). */
    params: Map<string, string>;
    method: string;
    uri: string;
    realm: string;
    currentHa1: (username: string, algorithm: DigestAlgorithm) => Promise<string | null>;
  }): Promise<SessionVerdict> {
    const params = input.params;
    const nonce = params.get("nonce");
    if (nonce === undefined) return { kind: "unknown" };
    const session = this.sessions.get(nonce);
    if (!session) return { kind: "unknown" };
    if (this.now() > session.expiresAt) {
      this.sessions.delete(nonce);
      return { kind: "unknown" };
    }
    const nc = params.get("nc");
    const cnonce = params.get("cnonce");
    const response = params.get("response");
    if (
      params.get("username") !== session.username ||
      params.get("realm") !== session.realm ||
      session.realm !== input.realm ||
      (params.get("algorithm") ?? "MD5").toUpperCase() !== session.algorithm ||
      params.get("uri") !== input.uri ||
      params.get("qop")?.toLowerCase() !== "auth" ||
      nc === undefined ||
      !/^[0-9a-fA-F]{8}$/.test(nc) ||
      !cnonce ||
      response === undefined
    ) {
      return { kind: "stale" };
    }
    if ((await input.currentHa1(session.username, session.algorithm)) !== session.ha1)
      return { kind: "stale" };
    const ha2 = this.ha2(session.algorithm, input.method, input.uri);
    const expected = digestHash(session.algorithm, `${session.ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`);
    const given = Buffer.from(response.toLowerCase());
    if (given.length !== expected.length || !timingSafeEqual(given, Buffer.from(expected))) {
      return { kind: "invalid" };
    }
    // Checked and set with no await in between, so concurrent requests cannot both pass one count.
    const count = Number.parseInt(nc, 16);
    if (count <= session.lastNc) return { kind: "replayed" };
    session.lastNc = count;
    return { kind: "ok", username: session.username };
  }

  /** Opens a session after the authenticator accepted this header. */
  open(params: Map<string, string>, ha1: string, algorithm: DigestAlgorithm): void {
    const nonce = params.get("nonce");
    const username = params.get("username");
    const realm = params.get("realm");
    const nc = params.get("nc");
    if (!nonce || username === undefined || realm === undefined || nc === undefined) return;
    const issuedAt = nonceIssuedAt(nonce);
    if (issuedAt === null) return;
    const count = Number.parseInt(nc, 16);
    const existing = this.sessions.get(nonce);
    if (existing) {
      // Two first uses of one nonce verified at once: the same user's session keeps the highest count.
      if (existing.username === username && existing.realm === realm && existing.ha1 === ha1) {
        existing.lastNc = Math.max(existing.lastNc, count);
      }
      return;
    }
    if (this.sessions.size >= this.maxSessions) {
      this.sweep();
      if (this.sessions.size >= this.maxSessions) return;
    }
    this.sessions.set(nonce, {
      username,
      realm,
      algorithm,
      ha1,
      lastNc: count,
      expiresAt: issuedAt + this.nonceTtlMs,
    });
  }

  private sweep(): void {
    const now = this.now();
    for (const [nonce, session] of this.sessions) if (now > session.expiresAt) this.sessions.delete(nonce);
  }

  private ha2(algorithm: DigestAlgorithm, method: string, uri: string): string {
    const key = `${algorithm} ${method} ${uri}`;
    let value = this.ha2Cache.get(key);
    if (value === undefined) {
      value = digestHash(algorithm, `${method}:${uri}`);
      if (this.ha2Cache.size < 64) this.ha2Cache.set(key, value);
    }
    return value;
  }
}

/**
 * The issue time src/auth/digest.ts puts in the first 8 bytes of its nonces (milliseconds,
 * big-endian); null for anything else. Only nonces the authenticator has just accepted get here.
 */
function nonceIssuedAt(nonce: string): number | null {
  const raw = Buffer.from(nonce, "base64url");
  if (raw.length < 8) return null;
  const issued = Number(raw.readBigUInt64BE(0));
  return Number.isSafeInteger(issued) ? issued : null;
}
