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
import { registrationsOf } from "./sip/binding-store.js";
import { type SipRuntime, startSip } from "./sip/setup.js";
import { tenancyRoutes } from "./tenancy/routes.js";
import { type IssuedToken, TenancyService } from "./tenancy/service.js";

export interface ServerOptions {
  config: Config;
  logger: Logger;
  clock?: Clock;
  /** A database the caller owns (tests); otherwise one is opened from config and closed on stop. */
  database?: Database;
  /** Called once, after listening, when the first start created the initial operator's token. */
  onInitialToken?: (issued: IssuedToken, baseUrl: string) => void;
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
  /** The outbox (for other capabilities' messages), its queue and delivery. */
  readonly messaging: Messaging;
  /** The SIP stack and registrar; null when sip.enabled is false. */
  readonly sip: SipRuntime | null;
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
    const tenancy = new TenancyService(database, clock, { audit, groupProfiles: profiles });
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
    let sip: SipRuntime | null = null;
    accounts.addDetailSection("registrations", async (accountId) => {
      await sip?.flush();
      return registrationsOf(database.knex, accountId, clock.now());
    });
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
      ...auditRoutes(audit),
      ...accountRoutes(accounts),
      ...licensing.routes,
      ...messaging.routes,
    );

    const listener = createHttpListener({
      logger,
      metrics,
      routes,
      bodyLimitBytes: config.http.bodyLimitBytes,
      importLimitBytes: config.http.importLimitBytes,
      authenticate: (bearer) => tenancy.authenticate(bearer),
      authFailures: new FailureLimiter(
        config.http.authFailureLimit,
        config.http.authFailureWindowSeconds * 1000,
        clock,
      ),
      isShuttingDown,
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
    logger.info({ url, version: packageVersion }, "provisiond listening");
    if (config.sip.enabled) {
      sip = await lifecycle.open(
        "sip",
        () =>
          startSip({
            config: config.sip,
            knex: database.knex,
            databaseKind: database.kind,
            shared: {
              databaseUrl: config.database.url,
              poolMax: config.database.poolMax,
              logLevel: config.log.level,
            },
            clock,
            logger,
            events,
            findSipSubscriber: (username, sipDomain) => accounts.findSipSubscriber(username, sipDomain),
          }),
        (runtime) => runtime.close(),
      );
    }
    if (initialToken) options.onInitialToken?.(initialToken, url);

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

    return { url, database, httpServer, routes, events, accounts, messaging, sip, close };
  });
}
