import { createHash } from "node:crypto";
import { join } from "node:path";
import type { SipSubscriber } from "../accounts/service.js";
import { type SystemActor, systemActor } from "../audit/actor.js";
import type { AuditService } from "../audit/service.js";
import { DigestAuthenticator } from "../auth/digest.js";
import { DigestSessions } from "../auth/digest-sessions.js";
import { FailureLimiter } from "../auth/failure-limiter.js";
import { HttpDigestClients } from "../auth/http-digest-clients.js";
import type { Clock } from "../clock.js";
import type { Config } from "../config/schema.js";
import type { Database } from "../db/database.js";
import type { DomainEvents } from "../events.js";
import type { Route } from "../http/route.js";
import type { Logger } from "../logger.js";
import type { OutboxWriter } from "../messaging/outbox.js";
import { AccountKeys, type PkiAccounts } from "./account-keys.js";
import { caPassphrase } from "./ca-passphrase.js";
import { CertificateAuthority } from "./certificate-authority.js";
import { CrlPublisher } from "./crl-publisher.js";
import { type CertificateHolder, CertificateIssuer, type IssueCertificate } from "./issue-certificate.js";
import { KeyDirectory } from "./key-directory.js";
import { Rekeying } from "./rekey.js";
import { Revocation } from "./revocation.js";
import { type PkiClient, pkiRoutes } from "./routes.js";
import { ServerCertificate } from "./server-certificate.js";
import type { CertificateView } from "./views.js";

export type PkiConfig = Config["pki"];

/** How long a digest nonce of a key request or rekey stays usable. */
const nonceTtlMs = 5 * 60_000;

export const pkiDirectory = (config: PkiConfig, dataDir: string): string =>
  config.dir ?? join(dataDir, "pki");

export interface Pki {
  readonly ca: CertificateAuthority;
  routes: Route[];
  /** For the provisioning capability: certify an activating client's key inside its transaction. */
  issueCertificate: IssueCertificate;
  /**
   * For re-provisioning: revokes the account's other keys (superseded) in the caller's
   * transaction, keeping `keep` (the certificate just issued); call the answer's `adopt` after
   * the commit so this process serves the new CRL at once.
   */
  supersedeKeys(
    trx: Database["knex"],
    input: {
      holder: Pick<CertificateHolder, "accountId" | "groupId" | "organisationId">;
      keep: string;
      actor: SystemActor;
    },
  ): Promise<{ revoked: number; adopt(): void }>;
  /** The account "refresh" section. */
  certificates(accountId: string): Promise<CertificateView[]>;
  /** The server's own TLS certificate and key files, issued by this CA (and kept renewed). */
  serverCertificate: ServerCertificate;
  close(): void;
}

/**
 * Opens the CA in pki.dir, creating one on the first start when there is none (and saying so),
 * and builds the PKI's parts: issuing, revocation and CRL, key directory, rekey rules.
 */
export async function createPki(deps: {
  config: PkiConfig;
  dataDir: string;
  database: Database;
  clock: Clock;
  logger: Logger;
  audit: AuditService;
  accounts: PkiAccounts & {
    findSipSubscriber(username: string, sipDomain: string): Promise<SipSubscriber | null>;
  };
  outbox: OutboxWriter;
  events: DomainEvents;
  authFailures: { limit: number; windowSeconds: number };
}): Promise<Pki> {
  const { config, clock, database, audit } = deps;
  const logger = deps.logger.child({ capability: "pki" });
  const dir = pkiDirectory(config, deps.dataDir);
  const passphrase = caPassphrase(config.caPassphrase, dir, logger);
  let ca = await CertificateAuthority.load(dir, passphrase);
  if (!ca) {
    ca = await CertificateAuthority.create({
      subject: config.caSubject,
      keyType: config.caKeyType,
      validityDays: config.caValidityDays,
      now: clock.now(),
    });
    ca.save(dir, passphrase);
    logger.warn(
      { dir, subject: ca.certificate.subject, fingerprint: ca.fingerprint, keyType: config.caKeyType },
      "PKI: no CA found, so a new root CA was created; back up this directory (docs/pki.md), and give processes that share the database the same files",
    );
  } else {
    logger.info({ dir, subject: ca.certificate.subject, fingerprint: ca.fingerprint }, "PKI: CA loaded");
  }
  const current = ca;
  const caOf = () => current;

  const crl = new CrlPublisher(
    database,
    caOf,
    clock,
    { validitySeconds: config.crlValiditySeconds, refreshAheadSeconds: config.crlRefreshAheadSeconds },
    logger,
  );
  const issuer = new CertificateIssuer(caOf, clock, audit, config.crlDistributionUrl);
  const revocation = new Revocation(clock, audit, crl);
  const accountKeys = new AccountKeys(database, clock, deps.accounts, revocation, crl);
  const directory = new KeyDirectory(database, clock, deps.accounts);
  const rekeying = new Rekeying({
    db: database,
    clock,
    accounts: deps.accounts,
    issuer,
    revocation,
    crl,
    audit,
    outbox: deps.outbox,
    events: deps.events,
    logger,
  });

  // Nonces every process sharing the CA accepts: the key is derived from the CA's own key.
  const secret = createHash("sha256")
    .update("provisiond pki digest nonces\0")
    .update(current.privateKey.export({ type: "pkcs8", format: "der" }))
    .digest();
  const windowMs = deps.authFailures.windowSeconds * 1000;
  const clients = new HttpDigestClients<PkiClient>({
    digest: new DigestAuthenticator({ secret, nonceTtlMs, clock }),
    lookup: async (username, realm) => {
      const subscriber = await deps.accounts.findSipSubscriber(username, realm);
      return subscriber
        ? {
            client: { accountId: subscriber.accountId, status: subscriber.status },
            credentials: { ha1Md5: subscriber.ha1Md5, ha1Sha256: subscriber.ha1Sha256 },
          }
        : null;
    },
    // The same limits as SIP REGISTER: these are the same credentials, attacked over HTTP.
    failures: {
      user: new FailureLimiter(deps.authFailures.limit, windowMs, clock),
      address: new FailureLimiter(deps.authFailures.limit * 10, windowMs, clock),
    },
    logger,
    sessions: new DigestSessions(nonceTtlMs, () => clock.now().getTime()),
    what: "PKI client request",
    securityTag: "pki.client",
  });

  const stopCrlSchedule = crl.schedule();
  const unsubscribe = deps.events.subscribe(async (event) => {
    if (event.type !== "account.deleted") return;
    const revoked = await accountKeys.revokeDeleted(
      event.accountId,
      systemActor("provisiond (account deleted)"),
    );
    if (revoked > 0)
      logger.info({ accountId: event.accountId, revoked }, "PKI: a deleted account's keys were revoked");
  });

  const serverCertificate = new ServerCertificate(
    dir,
    caOf,
    database,
    clock,
    audit,
    {
      hostNames: config.serverHostNames,
      validityDays: config.serverCertificateDays,
      renewBeforeSeconds: config.serverRenewBeforeSeconds,
    },
    logger,
  );

  return {
    ca: current,
    routes: pkiRoutes({
      ca: caOf,
      crl,
      accountKeys,
      directory,
      rekeying,
      authenticate: (input) => clients.authenticate(input),
    }),
    issueCertificate: issuer.issueCertificate,
    supersedeKeys: async (trx, input) => {
      const { revoked, published } = await revocation.revokeAccountKeys(trx, {
        ...input,
        reason: "superseded",
      });
      return { revoked: revoked.length, adopt: () => (published ? crl.adopt(published) : undefined) };
    },
    certificates: (accountId) => accountKeys.section(accountId),
    serverCertificate,
    close: () => {
      stopCrlSchedule();
      unsubscribe();
    },
  };
}
