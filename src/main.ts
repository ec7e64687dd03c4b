import { existsSync } from "node:fs";
import type { Server } from "node:http";
import { CredentialCipher, loadCredentialKey } from "./accounts/credentials.js";
import { Profiles } from "./accounts/profiles.js";
import { accountRoutes } from "./accounts/routes.js";
import { AccountService } from "./accounts/service.js";
import { auditRoutes } from "./audit/routes.js";
import { AuditService } from "./audit/service.js";
import { FailureLimiter } from "./auth/failure-limiter.js";
import { type Clock, systemClock } from "./clock.js";
import type { Config } from "./config/schema.js";
import { type Database, openDatabase } from "./db/database.js";
import { startPostgresEventRelay } from "./db/event-relay.js";
import { migrateLatest } from "./db/migrate.js";
import { DomainEvents } from "./events.js";
import { createHttpListener } from "./http/app.js";
import { createMetrics } from "./http/metrics.js";
import { buildOpenApiDocument } from "./http/openapi.js";
import { operationsRoutes } from "./http/operations.js";
import { databaseReadiness } from "./http/readiness.js";
import type { Route } from "./http/route.js";
import { drainHttp, listenHttp } from "./http/server.js";
import { createLicensing } from "./licensing/setup.js";
import { Lifecycle } from "./lifecycle.js";
import type { Logger } from "./logger.js";
import { createMessaging, type Messaging } from "./messaging/setup.js";
import { packageVersion } from "./package-info.js";
import { createPki, type Pki } from "./pki/service.js";
import { createProvisioning } from "./provisioning/setup.js";
import { createSnomProvisioning } from "./provisioning/snom/setup.js";
import { AnnouncementUploads } from "./sip/announcement-uploads.js";
import { registrationsOf } from "./sip/binding-store.js";
import { CallRecords } from "./sip/call-records.js";
import { announcementRoutes, cdrRoutes } from "./sip/routes.js";
import { type SipRuntime, startSip } from "./sip/setup.js";
import { UploadedAnnouncements } from "./sip/uploaded-announcements.js";
import { createSubscriptions, type Subscriptions } from "./subscriptions/setup.js";
import { passwordPagePath } from "./tenancy/passwords.js";
import { tenancyRoutes } from "./tenancy/routes.js";
import { type IssuedToken, TenancyService } from "./tenancy/service.js";
import { createSignIn, type SignIn } from "./tenancy/sign-in.js";

export interface ServerOptions {
  config: Config;
  logger: Logger;
  clock?: Clock;
  /** A database the caller owns (tests); otherwise one is opened from config and closed on stop. */
  database?: Database;
  /**
   * Called once, after listening, when the first start created the initial operator's token, with
   * the one-time link that sets the operator's console password.
   */
  onInitialToken?: (issued: IssuedToken, baseUrl: string, passwordLink: string) => void;
}

export interface RunningServer {
  readonly url: string;
  readonly database: Database;
  readonly httpServer: Server;
  /** Every route the HTTP API serves: what the OpenAPI document and the role matrix test read. */
  readonly routes: readonly Route[];
  /** Account changes, for capabilities that react to them (registrar, PKI). */
  readonly events: DomainEvents;
  readonly accounts: AccountService;
  /** The certificate authority: issuing (for provisioning), revocation, CRL, the server's certificate. */
  readonly pki: Pki;
  /** The outbox (for other capabilities' messages), its queue and delivery. */
  readonly messaging: Messaging;
  /** Requests and the renewal schedule. */
  readonly subscriptions: Subscriptions;
  /** The SIP stack and registrar; null when sip.enabled is false. */
  readonly sip: SipRuntime | null;
  /** Console sign-in: sessions and passwords. */
  readonly signIn: SignIn;
  /** Stops accepting, lets in-flight requests finish (up to shutdown.graceMs), closes the database. */
  close(): Promise<void>;
}

/**
 * The composition root: config -> database -> capabilities -> HTTP and SIP listeners. Everything
 * opened registers its close with one Lifecycle, so stopping closes in reverse order of opening
 * and a start that fails half-way closes what it had opened.
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { config, logger } = options;
  const clock = options.clock ?? systemClock;
  const lifecycle = new Lifecycle(logger);
  let shuttingDown = false;
  const isShuttingDown = () => shuttingDown;

  return lifecycle.start(async () => {
    const database =
      options.database ??
      (await lifecycle.open(
        "database",
        () => openDatabase(config.database),
        (db) => db.close(),
      ));
    const applied = await migrateLatest(database.knex);
    logger.info({ database: database.kind, location: database.location, applied }, "database ready");

    const events = new DomainEvents(logger);
    const { connectionString } = database;
    if (connectionString) {
      // Other processes on this PostgreSQL must see a disable, a new password... at once, not
      // when their caches expire. PGlite serves one process: its events stay in it.
      const relay = await lifecycle.open(
        "domain event relay",
        () => startPostgresEventRelay({ connectionString, knex: database.knex, events, logger }),
        (relay) => relay.close(),
      );
      events.relayTo(relay);
    }
    const credentialKey = loadCredentialKey(
      {
        configured: config.secrets.credentialKey,
        dataDir: config.database.dataDir,
        sharedDatabase: database.kind === "postgres",
      },
      logger,
    );
    const audit = new AuditService(database, clock);
    const cipher = new CredentialCipher(credentialKey);
    const profiles = new Profiles(database, clock, audit, cipher, events);
    const tenancy = new TenancyService(database, clock, { audit, groupProfiles: profiles, events });
    const initialToken = await tenancy.bootstrapInitialOperator();
    const accounts = new AccountService(database, clock, tenancy, cipher, events, { audit, profiles });

    const metrics = createMetrics();
    const licensing = await createLicensing({
      config: config.license,
      database,
      clock,
      logger,
      accounts,
      events,
      registry: metrics.registry,
      authFailures: {
        limit: config.sip.authFailureLimit,
        windowSeconds: config.sip.authFailureWindowSeconds,
      },
    });
    lifecycle.defer("license checks", () => licensing.drain());
    accounts.addDetailSection("license", (accountId) => licensing.service.details(accountId));
    let serverUrl = "";
    const messaging = createMessaging({
      config: config.messaging,
      redisUrl: config.redis.url,
      database,
      clock,
      logger,
      accounts,
      organisations: tenancy.organisations,
      audit,
      registry: metrics.registry,
      serverUrl: () => serverUrl,
    });
    accounts.addDetailSection("messages", async (accountId) => messaging.messagesOf(accountId));
    const signIn = createSignIn({
      config: config.signIn,
      publicUrl: config.messaging.publicUrl,
      database,
      clock,
      audit,
      logger,
      outbox: messaging.outbox,
      serverUrl: () => serverUrl,
    });
    // The first start prints a one-time link to set the initial operator's console password.
    const firstStartPassword = initialToken
      ? await signIn.passwords.firstStartToken(initialToken.userId)
      : null;
    // Before messaging starts the queue: the schedule's job handler must be registered by then.
    const subscriptions = createSubscriptions({
      database,
      clock,
      logger,
      audit,
      accounts: {
        assertAccountVisible: (actor, id) => accounts.assertAccountVisible(actor, id),
        assertAccountWritable: (actor, id) => accounts.assertAccountWritable(actor, id),
        enable: (actor, id) => accounts.accounts.enable(actor, id),
        disable: (actor, id, reason) => accounts.accounts.disable(actor, id, { reason }),
      },
      outbox: messaging.outbox,
      sendActivationSms: (actor, id) => messaging.sendActivationSms(actor, id),
      queue: messaging.queue,
      intervalMs: config.subscriptions.scheduleIntervalMs,
    });
    const pki = await createPki({
      config: config.pki,
      dataDir: config.database.dataDir,
      database,
      clock,
      logger,
      audit,
      accounts: {
        keyHolders: accounts.keyHolders,
        assertAccountWritable: (actor, id) => accounts.assertAccountWritable(actor, id),
        findSipSubscriber: (username, sipDomain) => accounts.findSipSubscriber(username, sipDomain),
      },
      outbox: messaging.outbox,
      events,
      authFailures: {
        limit: config.sip.authFailureLimit,
        windowSeconds: config.sip.authFailureWindowSeconds,
      },
    });
    lifecycle.defer("pki", () => pki.close());
    accounts.addDetailSection("certificates", (accountId) => pki.certificates(accountId));
    const provisioning = createProvisioning({
      config: config.provisioning,
      database,
      clock,
      logger,
      accounts,
      links: messaging.activationLinks,
      pki,
      audit,
      events,
      licenseSigningKey: licensing.publicKey,
      licenseVendorUrl: config.license.vendorUrl,
      publicUrl: () => (config.messaging.publicUrl ?? serverUrl).replace(/\/+$/, ""),
    });
    accounts.addDetailSection("device", (accountId) => provisioning.deviceOf(accountId));
    accounts.addDetailSection("activationAttempts", (accountId) => provisioning.attemptsOf(accountId));
    const snom = await createSnomProvisioning({
      config: config.snom,
      database,
      clock,
      logger,
      audit,
      accounts,
      publicUrl: () => config.messaging.publicUrl ?? serverUrl,
    });
    lifecycle.defer("snom fetch records", () => snom.close());
    accounts.addDetailSection("snomProvisioning", (accountId) => snom.details(accountId));
    let sip: SipRuntime | null = null;
    accounts.addDetailSection("registrations", async (accountId) => {
      await sip?.flush();
      return registrationsOf(database.knex, accountId, clock.now());
    });
    const uploadedAnnouncements = new UploadedAnnouncements(database.knex, clock, logger);
    const announcementUploads = new AnnouncementUploads(
      database,
      clock,
      audit,
      tenancy.organisations,
      uploadedAnnouncements,
      config.sip.announcementMaxSeconds,
    );
    const routes: Route[] = [];
    let openApiDocument: object | undefined;
    routes.push(
      ...operationsRoutes({
        metrics,
        openApiDocument: () => {
          openApiDocument ??= buildOpenApiDocument(routes, packageVersion);
          return openApiDocument;
        },
        readiness: databaseReadiness({ database, logger, isShuttingDown }),
      }),
      ...tenancyRoutes(tenancy),
      ...signIn.routes,
      ...auditRoutes(audit),
      ...accountRoutes(accounts),
      ...licensing.routes,
      ...pki.routes,
      ...cdrRoutes(new CallRecords(database, clock)),
      ...announcementRoutes(announcementUploads),
      ...messaging.routes,
      ...provisioning.routes,
      ...snom.routes,
      ...subscriptions.routes,
    );

    const listener = createHttpListener({
      logger,
      metrics,
      routes,
      bodyLimitBytes: config.http.bodyLimitBytes,
      importLimitBytes: config.http.importLimitBytes,
      // The longest allowed announcement as 8 kHz 16-bit audio, and room for the WAV chunks around it.
      audioLimitBytes: config.sip.announcementMaxSeconds * 16_000 + 64 * 1024,
      authenticate: (bearer) => tenancy.authenticate(bearer),
      authenticateSession: (secret) => signIn.sessions.authenticate(secret),
      csrf: { trustedHosts: signIn.trustedHosts },
      authFailures: new FailureLimiter(
        config.http.authFailureLimit,
        config.http.authFailureWindowSeconds * 1000,
        clock,
      ),
      isShuttingDown,
      console: config.console,
    });

    const { server: httpServer, url } = await lifecycle.open(
      "http",
      () => listenHttp(listener, config.http),
      // When a later start step fails: cut at once. close() below drains with the grace period first.
      ({ server }) => (server.listening ? drainHttp(server, 0, logger) : undefined),
    );
    serverUrl = url;
    // After the listener: links and the gateway's callback URL name this server.
    await lifecycle.open(
      "message delivery",
      () => messaging.start(),
      () => messaging.close(),
    );
    await subscriptions.start();
    logger.info({ url, version: packageVersion }, "provisiond listening");
    if (config.sip.enabled) {
      const sipConfig = await sipTlsFromPki(config.sip, pki);
      if (sipConfig !== config.sip) {
        const stopRenewal = pki.serverCertificate.schedule(() => sip?.reloadCertificate());
        lifecycle.defer("server certificate renewal", stopRenewal);
      }
      sip = await lifecycle.open(
        "sip",
        () =>
          startSip({
            config: sipConfig,
            knex: database.knex,
            databaseKind: database.kind,
            shared: {
              databaseUrl: database.connectionString,
              poolMax: config.database.poolMax,
              logLevel: config.log.level,
            },
            clock,
            logger,
            events,
            findSipSubscriber: (username, sipDomain) => accounts.findSipSubscriber(username, sipDomain),
            accountIdsIn: (where) => accounts.accountIdsIn(where),
            findRealm: (sipDomain) => accounts.realmOf(sipDomain),
            announcementLanguage: (accountId) => accounts.announcementLanguage(accountId),
            uploadedAnnouncements,
            dataDir: config.database.dataDir,
          }),
        (runtime) => runtime.close(),
      );
    }
    if (initialToken) {
      const base = (config.messaging.publicUrl ?? url).replace(/\/+$/, "");
      options.onInitialToken?.(initialToken, url, `${base}${passwordPagePath}${firstStartPassword}`);
    }

    let closing: Promise<void> | undefined;
    const close = (): Promise<void> => {
      closing ??= (async () => {
        shuttingDown = true;
        logger.info(
          { graceMs: config.shutdown.graceMs },
          "shutting down: no new connections, finishing requests",
        );
        // SIP stops first (it answers nothing once the HTTP side drains), then HTTP gets its grace
        // period; the lifecycle then closes the rest newest first, the database last.
        await sip?.close();
        await drainHttp(httpServer, config.shutdown.graceMs, logger);
        await lifecycle.close();
        logger.info("shut down");
      })();
      return closing;
    };

    return {
      url,
      database,
      httpServer,
      routes,
      events,
      accounts,
      pki,
      messaging,
      subscriptions,
      sip,
      signIn,
      close,
    };
  });
}

/**
 * The SIP configuration with its TLS files: the operator's (sip.tlsCertFile and sip.tlsKeyFile)
 * when they exist, else a certificate this CA issues for pki.serverHostNames, so a fresh install
 * has working SIP TLS. The same object back means the operator's files are used.
 */
async function sipTlsFromPki(config: Config["sip"], pki: Pki): Promise<Config["sip"]> {
  const wantsTls = config.listen.some((spec) => spec.transport === "tls" || spec.transport === "wss");
  if (!wantsTls || (existsSync(config.tlsCertFile) && existsSync(config.tlsKeyFile))) return config;
  await pki.serverCertificate.ensure();
  return {
    ...config,
    tlsCertFile: pki.serverCertificate.certFile,
    tlsKeyFile: pki.serverCertificate.keyFile,
  };
}
