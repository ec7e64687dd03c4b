import { RateLimitedError } from "../errors.js";
import type { Logger } from "../logger.js";
import { type DigestAuthenticator, type DigestCredentials, parseDigestParams } from "./digest.js";
import type { DigestSessions } from "./digest-sessions.js";
import type { FailureLimiter } from "./failure-limiter.js";

export type ClientAuthResult<C> =
  | { ok: true; client: C }
  | { ok: false; reason: string; challenge: string[] };

/** A client found by its digest username in a realm, with the HA1s it is checked against. */
export interface DigestClient<C> {
  client: C;
  credentials: DigestCredentials;
}

export interface HttpDigestClientsOptions<C> {
  digest: DigestAuthenticator;
  /** The client of that username in that realm (a SIP domain); null when unknown. */
  lookup(username: string, realm: string): Promise<DigestClient<C> | null>;
  /** Wrong passwords per user and per source address: past the limit, 429 until the window ends. */
  failures: { user: FailureLimiter; address: FailureLimiter };
  logger: Logger;
  sessions: DigestSessions;
  /** What the requests are, in log lines and the 429's detail: "license check", "key directory request". */
  what: string;
  /** The `security` field of the log lines: license.check, pki.client, ... */
  securityTag: string;
}

/**
 * HTTP digest authentication of a device with its SIP credentials (realm = the account's SIP
 * domain), shared by every endpoint devices call: the license check, the key directory, rekeying.
 * The DigestAuthenticator does the digest; a nonce verified once gets a session (one hash after
 * that); wrong passwords count per user and per address.
 */
export class HttpDigestClients<C> {
  constructor(private readonly options: HttpDigestClientsOptions<C>) {}

  async authenticate(input: {
    authorization: string | undefined;
    method: string;
    /** The request target as sent (path and query): the digest's uri must name it. */
    uri: string;
    realm: string;
    /** The client's address, for the failure limit. */
    address: string;
  }): Promise<ClientAuthResult<C>> {
    const { digest, failures, sessions } = this.options;
    const refuse = (reason: string, stale = false): ClientAuthResult<C> => ({
      ok: false,
      reason,
      challenge: digest.challenge(input.realm, { stale }),
    });
    if (!input.authorization) return refuse("no credentials: answer the digest challenge");
    const params = parseDigestParams(input.authorization);
    if (!params) return refuse("malformed authorization");
    const username = params.get("username") ?? "";
    const userKey = `${username}@${input.realm}`;
    const blocked = Math.max(
      failures.address.blockedForSeconds(input.address),
      failures.user.blockedForSeconds(userKey),
    );
    if (blocked > 0) {
      throw new RateLimitedError(
        blocked,
        `too many failed ${this.options.what}s for this user or address; try again later`,
      );
    }
    // The digest covers the uri the client names; it must be this request's, or a digest
    // captured from another request could be replayed here.
    const uri = params.get("uri");
    if (uri !== undefined && uri !== input.uri) return refuse("the digest uri is not this request's");

    // A nonce already verified once: one hash instead of the full verification.
    const sessionClient: { found: DigestClient<C> | null } = { found: null };
    const session = await sessions.verify({
      params,
      method: input.method,
      uri: input.uri,
      realm: input.realm,
      currentHa1: async (user, algorithm) => {
        sessionClient.found = await this.options.lookup(user, input.realm);
        const credentials = sessionClient.found?.credentials;
        return (algorithm === "MD5" ? credentials?.ha1Md5 : credentials?.ha1Sha256) ?? null;
      },
    });
    if (session.kind === "ok") {
      return sessionClient.found
        ? { ok: true, client: sessionClient.found.client }
        : refuse("invalid credentials");
    }
    if (session.kind === "replayed") return refuse("nonce count replayed", true);
    if (session.kind === "stale") return refuse("the nonce belongs to another session: take a new one", true);
    if (session.kind === "invalid") {
      this.recordFailure(input.address, userKey);
      return refuse("invalid credentials");
    }

    // Filled by the credentials lookup, so the account is read once per request.
    const lookup: { found: DigestClient<C> | null } = { found: null };
    const result = await digest.verify({
      authorization: input.authorization,
      method: input.method,
      realm: input.realm,
      credentials: async (user) => {
        lookup.found = await this.options.lookup(user, input.realm);
        return lookup.found?.credentials ?? null;
      },
    });
    if (!result.ok) {
      // A wrong password (or unknown user) counts; a stale nonce or a malformed header does not.
      if (result.reason === "invalid credentials") this.recordFailure(input.address, userKey);
      return refuse(result.reason, result.stale);
    }
    const found = lookup.found;
    if (!found) return refuse("invalid credentials");
    const ha1 = result.algorithm === "MD5" ? found.credentials.ha1Md5 : found.credentials.ha1Sha256;
    if (ha1) sessions.open(params, ha1, result.algorithm);
    return { ok: true, client: found.client };
  }

  private recordFailure(address: string, user: string): void {
    const { failures, logger, securityTag, what } = this.options;
    const byAddress = failures.address.recordFailure(address);
    const byUser = failures.user.recordFailure(user);
    if (byAddress.blockedNow || byUser.blockedNow) {
      logger.warn(
        {
          security: `${securityTag}.rate_limited`,
          source: address,
          user,
          failuresFromAddress: byAddress.count,
          failuresForUser: byUser.count,
        },
        `${what}: repeated authentication failures, refusing further attempts for a while`,
      );
    } else if (byAddress.count < 10_000) {
      logger.info(
        { security: `${securityTag}.auth_failed`, source: address, user },
        `${what}: authentication failed`,
      );
    }
  }
}
