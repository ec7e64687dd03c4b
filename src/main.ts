import type { Server } from "node:http";
import { CredentialCipher, loadCredentialKey } from "./accounts/credentials.js";
import { accountRoutes } from "./accounts/routes.js";
import { AccountService } from "./accounts/service.js";
import { type Clock, systemClock } from "./clock.js";
import type { Config } from "./config/schema.js";
import { type Database, openDatabase } from "./db/database.js";
import { migrateLatest, pendingMigrations } from "./db/migrate.js";
import { DependencyUnavailableError } from "./errors.js";
import { DomainEvents } from "./events.js";
import { createHttpListener } from "./http/app.js";
import { AuthFailureThrottle } from "./http/auth-throttle.js";
import { createMetrics } from "./http/metrics.js";
import { buildOpenApiDocument } from "./http/openapi.js";
import { operationsRoutes } from "./http/operations.js";
import type { Route } from "./http/route.js";
import { drainHttp, listenHttp } from "./http/server.js";
import { createLicensing } from "./licensing/setup.js";
import type { Logger } from "./logger.js";
import { packageVersion } from "./package-info.js";
import { registrationsOf, type SipRuntime, startSip } from "./sip/setup.js";
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
  /** The SIP stack and registrar; null when sip.enabled is false. */
  readonly sip: SipRuntime | null;
  /** Stops accepting, lets in-flight requests finish (up to shutdown.graceMs), closes the database. */
  close(): Promise<void>;
}

const readinessTimeoutMs = 2000;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The composition root: config -> stores -> services -> HTTP server. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { config, logger } = options;
  const clock = options.clock ?? systemClock;
  const ownsDatabase = options.database === undefined;
  const database = options.database ?? (await openDatabase(config.database));
  let shuttingDown = false;

  try {
    const applied = await migrateLatest(database.knex);
    logger.info({ database: database.kind, location: database.location, applied }, "database ready");
  } catch (error) {
    if (ownsDatabase) await database.close();
    throw error;
  }

  const tenancy = new TenancyService(database, clock);
  const initialToken = await tenancy.bootstrapInitialOperator();
  const events = new DomainEvents(logger);
  let credentialKey: Buffer;
  try {
    credentialKey = loadCredentialKey(
      {
        configured: config.secrets.credentialKey,
        dataDir: config.database.dataDir,
        sharedDatabase: database.kind === "postgres",
      },
      logger,
    );
  } catch (error) {
    if (ownsDatabase) await database.close();
    throw error;
  }
  const accounts = new AccountService(database, clock, tenancy, new CredentialCipher(credentialKey), events);
  tenancy.useGroupProfilePolicy(accounts);

  const metrics = createMetrics();
  let licensing: Awaited<ReturnType<typeof createLicensing>>;
  try {
    licensing = await createLicensing({
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
  } catch (error) {
    if (ownsDatabase) await database.close();
    throw error;
  }
  accounts.addDetailSection("license", (accountId) => licensing.service.details(accountId));
  let sip: SipRuntime | null = null;
  accounts.addDetailSection("registrations", async (accountId) => {
    await sip?.flush();
    return registrationsOf(database.knex, accountId, clock.now());
  });
  const routes: Route[] = [];
  let openApiDocument: object | undefined;
  routes.push(
    ...operationsRoutes({
      metrics,
      openApiDocument: () => {
        openApiDocument ??= buildOpenApiDocument(routes, packageVersion);
        return openApiDocument;
      },
      readiness: async () => {
        if (shuttingDown) throw new DependencyUnavailableError("the server is shutting down");
        let pending: string[];
        try {
          pending = await withTimeout(pendingMigrations(database.knex), readinessTimeoutMs, "database check");
        } catch (error) {
          logger.warn({ err: error }, "readiness: database unreachable");
          throw new DependencyUnavailableError("the database is unreachable");
        }
        if (pending.length > 0) {
          throw new DependencyUnavailableError(`database migrations pending: ${pending.join(", ")}`);
        }
        return { database: database.kind };
      },
    }),
    ...tenancyRoutes(tenancy),
    ...accountRoutes(accounts),
    ...licensing.routes,
  );

  const listener = createHttpListener({
    logger,
    metrics,
    routes,
    bodyLimitBytes: config.http.bodyLimitBytes,
    importLimitBytes: config.http.importLimitBytes,
    authenticate: (bearer) => tenancy.authenticate(bearer),
    authThrottle: new AuthFailureThrottle(
      config.http.authFailureLimit,
      config.http.authFailureWindowMs,
      clock,
    ),
    isShuttingDown: () => shuttingDown,
  });

  let listening: Awaited<ReturnType<typeof listenHttp>>;
  try {
    listening = await listenHttp(listener, config.http);
  } catch (error) {
    if (ownsDatabase) await database.close();
    throw error;
  }
  const { server: httpServer, url } = listening;
  logger.info({ url, version: packageVersion }, "provisiond listening");
  if (config.sip.enabled) {
    try {
      sip = await startSip({
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
      });
    } catch (error) {
      await drainHttp(httpServer, 0, logger);
      if (ownsDatabase) await database.close();
      throw error;
    }
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
      await sip?.close();
      await drainHttp(httpServer, config.shutdown.graceMs, logger);
      await licensing.drain();
      if (ownsDatabase) await database.close();
      logger.info("shut down");
    })();
    return closing;
  };

  return { url, database, httpServer, routes, events, accounts, sip, close };
}
