import { type DigestAuthenticator, parseDigestParams } from "../auth/digest.js";
import type { FailureLimiter } from "../auth/failure-limiter.js";
import { RateLimitedError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { DigestSessions } from "./digest-sessions.js";
import type { LicenseClient, LicenseService } from "./service.js";

export type ClientAuthResult =
  | { ok: true; client: LicenseClient }
  | { ok: false; reason: string; challenge: string[] };

/**
 * HTTP digest authentication of a license check against the account's stored HA1, in the realm
 * of the account's SIP domain (the DigestAuthenticator of src/sip does the digest itself).
 */
export class LicenseClientAuthenticator {
  constructor(
    private readonly digest: DigestAuthenticator,
    private readonly licenses: LicenseService,
    /** Wrong passwords per user and per source address: past the limit, 429 until the window ends. */
    private readonly failures: { user: FailureLimiter; address: FailureLimiter },
    private readonly logger: Logger,
    private readonly sessions: DigestSessions,
  ) {}

  async authenticate(input: {
    authorization: string | undefined;
    method: string;
    /** The request target as sent (path and query): the digest's uri must name it. */
    uri: string;
    realm: string;
    /** The client's address, for the failure limit. */
    address: string;
  }): Promise<ClientAuthResult> {
    const refuse = (reason: string, stale = false): ClientAuthResult => ({
      ok: false,
      reason,
      challenge: this.digest.challenge(input.realm, { stale }),
    });
    if (!input.authorization) return refuse("no credentials: answer the digest challenge");
    const params = parseDigestParams(input.authorization);
    if (!params) return refuse("malformed authorization");
    const username = params.get("username") ?? "";
    const userKey = `${username}@${input.realm}`;
    const blocked = Math.max(
      this.failures.address.blockedForSeconds(input.address),
      this.failures.user.blockedForSeconds(userKey),
    );
    if (blocked > 0) {
      throw new RateLimitedError(
        blocked,
        "too many failed license checks for this user or address; try again later",
      );
    }
    // The digest covers the uri the client names; it must be this request's, or a digest
    // captured from another request could be replayed here.
    const uri = params.get("uri");
    if (uri !== undefined && uri !== input.uri) return refuse("the digest uri is not this request's");

    // A nonce already verified once: one hash instead of the full verification.
    const sessionClient: { client: LicenseClient | null } = { client: null };
    const session = await this.sessions.verify({
      params,
      method: input.method,
      uri: input.uri,
      realm: input.realm,
      currentHa1: async (user, algorithm) => {
        sessionClient.client = await this.licenses.client(user, input.realm);
        const subscriber = sessionClient.client?.subscriber;
        return (algorithm === "MD5" ? subscriber?.ha1Md5 : subscriber?.ha1Sha256) ?? null;
      },
    });
    if (session.kind === "ok") {
      return sessionClient.client
        ? { ok: true, client: sessionClient.client }
        : refuse("invalid credentials");
    }
    if (session.kind === "replayed") return refuse("nonce count replayed", true);
    if (session.kind === "stale") return refuse("the nonce belongs to another session: take a new one", true);
    if (session.kind === "invalid") {
      this.recordFailure(input.address, userKey);
      return refuse("invalid credentials");
    }

    // Filled by the credentials lookup, so the account is read once per check.
    const lookup: { client: LicenseClient | null } = { client: null };
    const result = await this.digest.verify({
      authorization: input.authorization,
      method: input.method,
      realm: input.realm,
      credentials: async (user) => {
        lookup.client = await this.licenses.client(user, input.realm);
        const subscriber = lookup.client?.subscriber;
        return subscriber ? { ha1Md5: subscriber.ha1Md5, ha1Sha256: subscriber.ha1Sha256 } : null;
      },
    });
    if (!result.ok) {
      // A wrong password (or unknown user) counts; a stale nonce or a malformed header does not.
      if (result.reason === "invalid credentials") this.recordFailure(input.address, userKey);
      return refuse(result.reason, result.stale);
    }
    const client = lookup.client;
    if (!client) return refuse("invalid credentials");
    const ha1 = result.algorithm === "MD5" ? client.subscriber.ha1Md5 : client.subscriber.ha1Sha256;
    if (ha1) this.sessions.open(params, ha1, result.algorithm);
    return { ok: true, client };
  }

  private recordFailure(address: string, user: string): void {
    const byAddress = this.failures.address.recordFailure(address);
    const byUser = this.failures.user.recordFailure(user);
    if (byAddress.blockedNow || byUser.blockedNow) {
      this.logger.warn(
        {
          security: "license.check.rate_limited",
          source: address,
          user,
          failuresFromAddress: byAddress.count,
          failuresForUser: byUser.count,
        },
        "license check: repeated authentication failures, refusing further attempts for a while",
      );
    } else if (byAddress.count < 10_000) {
      this.logger.info(
        { security: "license.check.auth_failed", source: address, user },
        "license check: authentication failed",
      );
    }
  }
}
