import type { DigestAuthenticator } from "../auth/digest.js";
import type { DigestSessions } from "../auth/digest-sessions.js";
import type { FailureLimiter } from "../auth/failure-limiter.js";
import {
  type ClientAuthResult as DigestClientResult,
  HttpDigestClients,
} from "../auth/http-digest-clients.js";
import type { Logger } from "../logger.js";
import type { LicenseClient, LicenseService } from "./service.js";

export type ClientAuthResult = DigestClientResult<LicenseClient>;

/**
 * HTTP digest authentication of a license check against the account's stored HA1, in the realm
 * of the account's SIP domain: the shared device authenticator of src/auth over license clients.
 */
export class LicenseClientAuthenticator {
  private readonly clients: HttpDigestClients<LicenseClient>;

  constructor(
    digest: DigestAuthenticator,
    licenses: LicenseService,
    /** Wrong passwords per user and per source address: past the limit, 429 until the window ends. */
    failures: { user: FailureLimiter; address: FailureLimiter },
    logger: Logger,
    sessions: DigestSessions,
  ) {
    this.clients = new HttpDigestClients({
      digest,
      lookup: async (username, realm) => {
        const client = await licenses.client(username, realm);
        return client
          ? {
              client,
              credentials: { ha1Md5: client.subscriber.ha1Md5, ha1Sha256: client.subscriber.ha1Sha256 },
            }
          : null;
      },
      failures,
      logger,
      sessions,
      what: "license check",
      securityTag: "license.check",
    });
  }

  authenticate(
    input: Parameters<HttpDigestClients<LicenseClient>["authenticate"]>[0],
  ): Promise<ClientAuthResult> {
    return this.clients.authenticate(input);
  }
}
