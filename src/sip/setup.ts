import { existsSync, readFileSync } from "node:fs";
import { hostname, networkInterfaces } from "node:os";
import { join } from "node:path";
import type { Knex } from "knex";
import { DigestAuthenticator } from "../auth/digest.js";
import { FailureLimiter } from "../auth/failure-limiter.js";
import { NonceSecretStore } from "../auth/nonce-secret-store.js";
import type { Clock } from "../clock.js";
import type { Config } from "../config/schema.js";
import type { DomainEvents } from "../events.js";
import { Lifecycle } from "../lifecycle.js";
import type { Logger } from "../logger.js";
import { Announcer } from "./announcement.js";
import { AnnouncementFiles } from "./announcement-files.js";
import { BindingStore } from "./binding-store.js";
import { CdrWriter } from "./cdr-store.js";
import { startSipWorkers } from "./cluster/primary.js";
import { Dialogs } from "./dialogs.js";
import { MethodDispatch } from "./dispatch.js";
import { Forwarding } from "./forwarding.js";
import { Location } from "./location.js";
import { type FindRealm, RealmDirectory } from "./realms.js";
import { Registrar } from "./registrar.js";
import { Router } from "./router.js";
import { type ListenSpec, SipEndpoint } from "./stack/endpoint.js";
import type { TlsFiles } from "./stack/transport/stream.js";
import type { TransportName } from "./stack/transport/types.js";
import { type AccountIdsIn, type FindSipSubscriber, SubscriberDirectory } from "./subscribers.js";
import type { UploadedAnnouncements } from "./uploaded-announcements.js";

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
  /** The live accounts of an organisation or group subtree, whose bindings go when it becomes inactive. */
  accountIdsIn: AccountIdsIn;
  /** The digest algorithms of the profile serving a SIP domain. */
  findRealm: FindRealm;
  /** The language of an account's announcements; without it (worker processes) English. */
  announcementLanguage?: (accountId: string) => Promise<string | null>;
  /** The organisations' uploaded announcements; without it only the defaults play. */
  uploadedAnnouncements?: UploadedAnnouncements;
  /** database.dataDir: where the default announcements go unless sip.announcementsDir says. */
  dataDir?: string;
  events: DomainEvents;
}

export interface SipRuntime {
  /** This process's endpoint; null when worker processes serve SIP (sip.workers > 1). */
  readonly endpoint: SipEndpoint | null;
  addresses(): Array<{ transport: TransportName; address: string; port: number }>;
  /** Writes queued binding changes and call records now. */
  flush(): Promise<void>;
  /** Re-reads sip.tlsCertFile and sip.tlsKeyFile (a renewed certificate) for new TLS and WSS connections. */
  reloadCertificate(): void;
  /** The router (calls and messages); null when worker processes serve SIP. */
  readonly router: Router | null;
  close(): Promise<void>;
}

function tlsFiles(config: SipConfig): TlsFiles | undefined {
  if (!existsSync(config.tlsCertFile) || !existsSync(config.tlsKeyFile)) return undefined;
  return { cert: readFileSync(config.tlsCertFile), key: readFileSync(config.tlsKeyFile) };
}

/** The addresses a Request-URI may name to mean this server: the bound ones, all local ones for a wildcard. */
function ownAddresses(bound: readonly string[]): string[] {
  const hosts = new Set<string>();
  const add = (address: string) => hosts.add(address.includes(":") ? `[${address.toLowerCase()}]` : address);
  for (const address of bound) {
    if (address === "0.0.0.0" || address === "::") {
      for (const entries of Object.values(networkInterfaces()))
        for (const entry of entries ?? []) add(entry.address);
    } else add(address);
  }
  return [...hosts];
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
      accountIdsIn: options.accountIdsIn,
      findRealm: options.findRealm,
    });
    return {
      endpoint: null,
      addresses: () => workers.addresses(),
      flush: async () => {},
      // Workers read the files when they start; a renewal reaches them at their next restart.
      reloadCertificate: () => {},
      router: null,
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

  // What is opened is closed newest first, also when a later step of the start fails.
  return new Lifecycle(sipLogger).start(async (lifecycle) => {
    const digest = new DigestAuthenticator({
      // The configured secret, or one generated on first start and kept in the database, so that
      // every node sharing the database accepts the others' nonces.
      secret: config.nonceSecret
        ? config.nonceSecret
        : await new NonceSecretStore(options.knex).getOrCreate(),
      nonceTtlMs: config.nonceTtlSeconds * 1000,
      clock,
      algorithms: config.digestAlgorithms,
    });
    const store = new BindingStore(options.knex, config.bindingFlushMs, sipLogger, clock);
    lifecycle.defer("SIP binding store", () => store.close());
    const location = new Location(store, clock);
    const subscribers = new SubscriberDirectory(
      options.findSipSubscriber,
      clock,
      config.credentialCacheSeconds * 1000,
    );
    const realms = new RealmDirectory(
      options.findRealm,
      config.digestAlgorithms,
      clock,
      config.credentialCacheSeconds * 1000,
    );
    // Filled once the listeners are bound (port 0 and wildcard addresses are known only then).
    const ownHosts = new Set<string>([...config.aliases, hostname().toLowerCase(), "localhost"]);
    const windowMs = config.authFailureWindowSeconds * 1000;
    const nodeId = config.nodeId ?? hostname();
    const registrar = new Registrar(
      {
        digest,
        subscribers,
        realms,
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
        nodeId,
        isOwnHost: (host) => ownHosts.has(host),
        handleLostConnections: config.handleLostConnections,
      },
    );

    const dispatch = new MethodDispatch(sipLogger).on("REGISTER", (tx) => registrar.handle(tx));
    const dialogs = new Dialogs();
    const cdrs = new CdrWriter(options.knex, config.cdrFlushMs, sipLogger);
    lifecycle.defer("SIP call records", () => cdrs.close());
    const uploads = options.uploadedAnnouncements;
    const announcer = new Announcer(
      new AnnouncementFiles(
        config.announcementsDir ?? join(options.dataDir ?? "./data", "announcements"),
        sipLogger,
      ),
      sipLogger,
      uploads ? (groupId, kind, language) => uploads.samplesFor(groupId, kind, language) : undefined,
    );
    let router: Router | null = null;

    const unsubscribe = options.events.subscribe(async (event) => {
      switch (event.type) {
        case "account.disabled":
        case "account.deleted": {
          const ended = router?.endCallsOf(
            event.accountId,
            event.type === "account.disabled" ? "account disabled" : "account deleted",
          );
          if (ended)
            sipLogger.info({ accountId: event.accountId, calls: ended }, "SIP: calls of the account ended");
          subscribers.forgetAccount(event.accountId);
          await location.dropAccount(event.accountId);
          sipLogger.info(
            { accountId: event.accountId, event: event.type },
            "SIP: bindings and cached credentials dropped",
          );
          return;
        }
        case "account.passwordChanged":
        case "account.identityChanged":
          subscribers.forgetAccount(event.accountId);
          if (event.type === "account.identityChanged")
            subscribers.forgetName(event.username, event.sipDomain);
          await location.dropAccount(event.accountId);
          sipLogger.info(
            { accountId: event.accountId, event: event.type },
            "SIP: bindings and cached credentials dropped",
          );
          return;
        case "account.enabled":
        case "account.moved":
          // Its cached entry carries the old group's standing (an inactive group disables it).
          subscribers.forgetAccount(event.accountId);
          return;
        case "organisation.changed":
        case "group.changed": {
          // Which accounts an organisation or group holds is not cached here: forget them all.
          subscribers.forgetAll();
          if (event.active) return;
          const accountIds = await options.accountIdsIn(
            event.type === "organisation.changed"
              ? { organisationId: event.organisationId }
              : { groupId: event.groupId },
          );
          await location.dropAccounts(accountIds);
          sipLogger.info(
            { event: event.type, accounts: accountIds.length },
            "SIP: inactive organisation or group, bindings and cached credentials dropped",
          );
          return;
        }
        case "account.created":
          subscribers.forgetName(event.username, event.sipDomain);
          return;
        case "profile.changed":
        case "events.missed":
          subscribers.forgetAll();
          realms.forget();
          return;
      }
    });
    lifecycle.defer("SIP account events", unsubscribe);

    const endpoint = await lifecycle.open(
      "SIP endpoint",
      () =>
        SipEndpoint.start({
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
          onRequest: dispatch.handle,
          onFlowClosed: (flow) => {
            registrar
              .connectionClosed(flow.id)
              .catch((error: unknown) =>
                sipLogger.warn(
                  { err: error, flow: flow.id },
                  "SIP: dropping a lost connection's bindings failed",
                ),
              );
          },
          onStrayAck: (request, flow) => router?.strayAck(request, flow),
        }),
      (endpoint) => endpoint.close(),
    );
    for (const host of ownAddresses(endpoint.addresses().map((bound) => bound.address))) ownHosts.add(host);

    router = new Router(
      {
        layer: endpoint.transactions,
        forwarding: new Forwarding(endpoint, nodeId),
        digest,
        realms,
        subscribers,
        location,
        dialogs,
        cdrs,
        announcer,
        languageOf: options.announcementLanguage ?? (async () => null),
        allow: () => dispatch.allow(),
        clock,
        logger: sipLogger,
      },
      { ringTimeoutSeconds: config.ringTimeoutSeconds },
    );
    const calls = router;
    // A proxy passes Require on; OPTIONS, which the server may answer itself, is checked here.
    const proxied = { proxy: true };
    dispatch
      .on("INVITE", calls.handle, proxied)
      .on("CANCEL", calls.cancel, proxied)
      .on("BYE", calls.handle, proxied)
      .on("MESSAGE", calls.handle, proxied)
      .on("UPDATE", calls.handle, proxied)
      .on("INFO", calls.handle, proxied)
      .on("PRACK", calls.handle, proxied)
      .on("OPTIONS", calls.handle);

    const purge = setInterval(() => {
      location
        .purgeExpired()
        .then((removed) => {
          if (removed > 0) sipLogger.debug({ removed }, "SIP: expired bindings purged");
        })
        .catch((error: unknown) => sipLogger.warn({ err: error }, "SIP: purging expired bindings failed"));
    }, config.purgeIntervalSeconds * 1000);
    purge.unref();
    lifecycle.defer("SIP purge timer", () => clearInterval(purge));

    return {
      endpoint,
      addresses: () => endpoint.addresses(),
      flush: async () => {
        await location.flush();
        await cdrs.flush();
      },
      reloadCertificate: () => {
        const files = tlsFiles(config);
        if (files) endpoint.replaceCertificate(files);
      },
      router,
      close: () => lifecycle.close(),
    };
  });
}
