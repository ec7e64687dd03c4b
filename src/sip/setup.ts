import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import type { Knex } from "knex";
import { DigestAuthenticator } from "../auth/digest.js";
import { FailureLimiter } from "../auth/failure-limiter.js";
import type { Clock } from "../clock.js";
import type { Config } from "../config/schema.js";
import type { DomainEvents } from "../events.js";
import type { Logger } from "../logger.js";
import { BindingStore } from "./binding-store.js";
import { startSipWorkers } from "./cluster/primary.js";
import { Location } from "./location.js";
import { Registrar } from "./registrar.js";
import { type ListenSpec, SipEndpoint } from "./stack/endpoint.js";
import type { ServerTransaction } from "./stack/transaction.js";
import type { TlsFiles } from "./stack/transport/stream.js";
import type { TransportName } from "./stack/transport/types.js";
import { type FindSipSubscriber, SubscriberDirectory } from "./subscribers.js";

export type SipConfig = Config["sip"];

export interface SipOptions {
  config: SipConfig;
  knex: Knex;
  databaseKind: "postgres" | "pglite";
  /** What sip.workers > 1 needs to start worker processes on the same PostgreSQL. */
  shared?: { databaseUrl: string | null; poolMax: number; logLevel: string };
  clock: Clock;
  logger: Logger;
  findSipSubscriber: FindSipSubscriber;
  events: DomainEvents;
}

export interface SipRuntime {
  /** This process's endpoint; null when worker processes serve SIP (sip.workers > 1). */
  readonly endpoint: SipEndpoint | null;
  addresses(): Array<{ transport: TransportName; address: string; port: number }>;
  /** Writes queued binding changes now. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** The registrations an account's "refresh" shows: read from the database, so any node's are there. */
export async function registrationsOf(
  knex: Knex,
  accountId: string,
  now: Date,
): Promise<Array<Record<string, unknown>>> {
  const rows = (await knex("sip_bindings")
    .where({ account_id: accountId })
    .andWhere("expires_at", ">", now)
    .orderBy("created_at")
    .select(
      "contact",
      "transport",
      "source_address",
      "source_port",
      "user_agent",
      "expires_at",
      "node_id",
    )) as Array<{
    contact: string;
    transport: string;
    source_address: string;
    source_port: number;
    user_agent: string | null;
    expires_at: Date | string;
    node_id: string;
  }>;
  return rows.map((row) => ({
    contact: row.contact,
    transport: row.transport,
    sourceAddress: row.source_address.includes(":")
      ? `[${row.source_address}]:${row.source_port}`
      : `${row.source_address}:${row.source_port}`,
    userAgent: row.user_agent,
    expiresAt: new Date(row.expires_at).toISOString(),
    node: row.node_id,
  }));
}

/**
 * The digest nonce key: the configured secret, or one generated on first start and kept in the
 * database, so that every node sharing the database accepts the others' nonces.
 */
async function nonceSecret(config: SipConfig, knex: Knex): Promise<string> {
  if (config.nonceSecret) return config.nonceSecret;
  await knex("sip_secrets")
    .insert({ name: "digest-nonce", value: randomBytes(32).toString("base64url") })
    .onConflict("name")
    .ignore();
  const row = (await knex("sip_secrets").where({ name: "digest-nonce" }).first()) as
    | { value: string }
    | undefined;
  if (!row) throw new Error("the SIP nonce secret could not be stored");
  return row.value;
}

function tlsFiles(config: SipConfig): TlsFiles | undefined {
  if (!existsSync(config.tlsCertFile) || !existsSync(config.tlsKeyFile)) return undefined;
  return { cert: readFileSync(config.tlsCertFile), key: readFileSync(config.tlsKeyFile) };
}

/** Starts the SIP endpoint and the registrar on the configured listeners. */
export async function startSip(options: SipOptions): Promise<SipRuntime> {
  const { config, clock, logger } = options;
  const sipLogger = logger.child({ component: "sip" });
  if (config.workers > 1) {
    const databaseUrl = options.shared?.databaseUrl;
    if (options.databaseKind !== "postgres" || !databaseUrl) {
      throw new Error(
        "sip.workers > 1 needs PostgreSQL (DATABASE_URL): the embedded database serves one process",
      );
    }
    const workers = await startSipWorkers({
      config,
      databaseUrl,
      poolMax: options.shared?.poolMax ?? 4,
      logLevel: options.shared?.logLevel ?? "info",
      logger: sipLogger,
      events: options.events,
      findSipSubscriber: options.findSipSubscriber,
    });
    return {
      endpoint: null,
      addresses: () => workers.addresses(),
      flush: async () => {},
      close: () => workers.close(),
    };
  }
  const tls = tlsFiles(config);
  const listen: ListenSpec[] = config.listen.filter((spec) => {
    if ((spec.transport === "tls" || spec.transport === "wss") && !tls) {
      sipLogger.info(
        { transport: spec.transport, port: spec.port, certFile: config.tlsCertFile },
        "SIP: no server certificate, this listener stays off",
      );
      return false;
    }
    return true;
  });

  const digest = new DigestAuthenticator({
    secret: await nonceSecret(config, options.knex),
    nonceTtlMs: config.nonceTtlSeconds * 1000,
    clock,
    algorithms: config.digestAlgorithms,
  });
  const store = new BindingStore(options.knex, config.bindingFlushMs, sipLogger);
  const location = new Location(store, clock);
  const subscribers = new SubscriberDirectory(
    options.findSipSubscriber,
    clock,
    config.credentialCacheSeconds * 1000,
  );
  const windowMs = config.authFailureWindowSeconds * 1000;
  const registrar = new Registrar(
    {
      digest,
      subscribers,
      location,
      userFailures: new FailureLimiter(config.authFailureLimit, windowMs, clock),
      // Many phones can share one NAT address: the per-address limit is wider than the per-user one.
      addressFailures: new FailureLimiter(config.authFailureLimit * 10, windowMs, clock),
      clock,
      logger: sipLogger,
    },
    {
      defaultExpiresSeconds: config.defaultExpiresSeconds,
      minExpiresSeconds: config.minExpiresSeconds,
      maxExpiresSeconds: config.maxExpiresSeconds,
      maxContactsPerAccount: config.maxContactsPerAccount,
      nodeId: config.nodeId ?? hostname(),
    },
  );

  const onRequest = (tx: ServerTransaction): void => {
    switch (tx.request.method) {
      case "REGISTER": {
        const callId = tx.request.headers.get("call-id");
        registrar.handle(tx).catch((error: unknown) => {
          sipLogger.error({ err: error, callId }, "SIP REGISTER failed");
          tx.reply(500);
        });
        return;
      }
      case "OPTIONS":
        tx.reply(200, { headers: [["Allow", "REGISTER, OPTIONS"]] });
        return;
      default:
        // Calls and messages are the router's (a later issue); until then say what is served.
        tx.reply(405, { headers: [["Allow", "REGISTER, OPTIONS"]] });
    }
  };

  const unsubscribe = options.events.subscribe(async (event) => {
    switch (event.type) {
      case "account.disabled":
      case "account.deleted":
      case "account.passwordChanged":
      case "account.identityChanged":
        subscribers.forgetAccount(event.accountId);
        await location.dropAccount(event.accountId);
        sipLogger.info(
          { accountId: event.accountId, event: event.type },
          "SIP: bindings and cached credentials dropped",
        );
        return;
      case "account.enabled":
        subscribers.forgetAccount(event.accountId);
        return;
    }
  });

  let endpoint: SipEndpoint;
  try {
    endpoint = await SipEndpoint.start({
      listen,
      limits: {
        maxMessageBytes: config.maxMessageBytes,
        maxHeaders: config.maxHeaders,
        maxLineLength: config.maxLineLength,
        idleTimeoutMs: config.connectionIdleSeconds * 1000,
        maxConnections: config.maxConnections,
      },
      timers: { t1: config.t1Ms, t2: config.t2Ms, t4: config.t4Ms },
      tls,
      logger: sipLogger,
      onRequest,
    });
  } catch (error) {
    unsubscribe();
    throw error;
  }

  const purge = setInterval(() => {
    location
      .purgeExpired()
      .then((removed) => {
        if (removed > 0) sipLogger.debug({ removed }, "SIP: expired bindings purged");
      })
      .catch((error: unknown) => sipLogger.warn({ err: error }, "SIP: purging expired bindings failed"));
  }, config.purgeIntervalSeconds * 1000);
  purge.unref();

  let closing: Promise<void> | undefined;
  return {
    endpoint,
    addresses: () => endpoint.addresses(),
    flush: () => location.flush(),
    close: () => {
      closing ??= (async () => {
        clearInterval(purge);
        unsubscribe();
        await endpoint.close();
        await store.close();
      })();
      return closing;
    },
  };
}
