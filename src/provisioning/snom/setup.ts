import type { AccountService } from "../../accounts/service.js";
import type { AuditService } from "../../audit/service.js";
import { DigestAuthenticator } from "../../auth/digest.js";
import { DigestSessions } from "../../auth/digest-sessions.js";
import { FailureLimiter } from "../../auth/failure-limiter.js";
import { HttpDigestClients } from "../../auth/http-digest-clients.js";
import { NonceSecretStore } from "../../auth/nonce-secret-store.js";
import type { Clock } from "../../clock.js";
import type { Config } from "../../config/schema.js";
import type { Database } from "../../db/database.js";
import type { Route } from "../../http/route.js";
import type { Logger } from "../../logger.js";
import { ProvisioningCredentials } from "./credentials.js";
import { FetchLog } from "./fetch-log.js";
import { snomRoutes } from "./routes.js";
import { type SnomPhone, SnomSettingsFiles } from "./settings-files.js";
import { snomStore as store } from "./store.js";

/** How long a digest nonce of a settings fetch stays usable. */
const nonceTtlMs = 5 * 60_000;
/** How many of its last fetches an account's details show. */
const fetchesShown = 20;
/** How long fetch records gather before one insert writes them. */
const fetchFlushMs = 250;

export interface SnomProvisioning {
  routes: Route[];
  /** The "snomProvisioning" section of the account details: the credential's state and the last fetches. */
  details(accountId: string): Promise<Record<string, unknown> | null>;
  /** Writes the fetch records still in memory. */
  close(): Promise<void>;
}

/**
 * SNOM desk phones: their settings files behind a per-device credential, the credential's
 * rotation, and what the account details show of both. Registers itself with account creation,
 * so every new SNOM account gets its credential in the creating transaction.
 */
export async function createSnomProvisioning(deps: {
  config: Config["snom"];
  database: Database;
  clock: Clock;
  logger: Logger;
  audit: AuditService;
  accounts: AccountService;
  /** The base URL phones reach this server at; read per request (the listener's URL is known late). */
  publicUrl: () => string;
}): Promise<SnomProvisioning> {
  const { config, database, clock, logger, accounts } = deps;
  const credentials = new ProvisioningCredentials(database, clock, deps.audit, accounts, {
    realm: config.realm,
    graceSeconds: config.credentialGraceSeconds,
  });
  accounts.creation.issueProvisioningCredentialsWith((trx, actor, rows) =>
    credentials.issue(trx, actor, rows),
  );

  // Kept in the database, so every process sharing it accepts the others' nonces.
  const secret = await new NonceSecretStore(database.knex).getOrCreate("snom-provisioning-nonce");
  // MD5 first: phones that read only the first challenge get the one they can answer.
  const digest = new DigestAuthenticator({ secret, nonceTtlMs, clock, algorithms: ["MD5", "SHA-256"] });
  const windowMs = config.authFailureWindowSeconds * 1000;
  const clients = new HttpDigestClients<SnomPhone>({
    digest,
    lookup: async (username) => {
      const row = await credentials.find(username);
      // Unknown, expired after a rotation, or a PGSM account's: the digest then checks a stand-in
      // HA1, so all of them take the time of a wrong password and get its answer.
      if (row?.account_type !== "SNOM" || !credentials.isValid(row)) return null;
      return {
        client: {
          accountId: row.account_id,
          macAddress: row.mac_address,
          deleted: row.account_deleted_at !== null,
        },
        credentials: { ha1Md5: row.ha1_md5, ha1Sha256: row.ha1_sha256 },
      };
    },
    failures: {
      user: new FailureLimiter(config.authFailureLimit, windowMs, clock),
      address: new FailureLimiter(config.authFailureLimit * 10, windowMs, clock),
    },
    logger,
    sessions: new DigestSessions(nonceTtlMs, () => clock.now().getTime()),
    what: "SNOM settings request",
    securityTag: "snom.settings",
  });
  const fetches = new FetchLog(database.knex, fetchFlushMs, logger);
  const files = new SnomSettingsFiles({
    fetches,
    clock,
    realm: config.realm,
    digest,
    clients,
    phoneSettings: accounts.phoneSettings,
    publicUrl: () => deps.publicUrl().replace(/\/+$/, ""),
  });

  return {
    routes: snomRoutes({ files, credentials }),
    async details(accountId) {
      if ((await store.accountType(database.knex, accountId)) !== "SNOM") return null;
      await fetches.flush().catch(() => undefined);
      const recent = await store.recentFetches(database.knex, accountId, fetchesShown);
      return {
        credential: await credentials.state(accountId),
        fetches: recent.map((row) => ({
          fetchedAt: row.fetched_at.toISOString(),
          address: row.address,
          userAgent: row.user_agent,
          model: row.model,
          firmware: row.firmware,
          outcome: row.outcome,
        })),
      };
    },
    close: () => fetches.close(),
  };
}
