import type { Registry } from "prom-client";
import { DigestAuthenticator } from "../auth/digest.js";
import { DigestSessions } from "../auth/digest-sessions.js";
import { FailureLimiter } from "../auth/failure-limiter.js";
import type { Clock } from "../clock.js";
import type { Config } from "../config/schema.js";
import type { Database } from "../db/database.js";
import type { DomainEvents } from "../events.js";
import type { Route } from "../http/route.js";
import type { Logger } from "../logger.js";
import { CircuitBreaker } from "./circuit-breaker.js";
import { LicenseClientAuthenticator } from "./client-auth.js";
import { EnvelopeSigner } from "./envelope-signer.js";
import { createLicenseMetrics } from "./metrics.js";
import { ResilientVendor } from "./resilient-vendor.js";
import { licensingRoutes } from "./routes.js";
import { type LicenseAccounts, LicenseService } from "./service.js";
import { parseEd25519PublicKey } from "./signatures.js";
import { HttpLicenseVendor, type LicenseVendor } from "./vendor-client.js";

/** How long a digest nonce of a license check stays usable; a client re-authenticates after. */
const nonceTtlMs = 5 * 60_000;

export interface Licensing {
  service: LicenseService;
  routes: Route[];
  /** The key license envelopes are signed with, which apps pin when they are provisioned. */
  publicKey: { keyId: string; publicKeyPem: string };
  /** Waits for vendor calls under way; call before the database closes. */
  drain(): Promise<void>;
}

/** Builds the license proxy from configuration: vendor adapter, breaker, signer, service, routes. */
export async function createLicensing(deps: {
  config: Config["license"];
  database: Database;
  clock: Clock;
  logger: Logger;
  accounts: LicenseAccounts;
  events: DomainEvents;
  registry: Registry;
  /** Wrong passwords allowed per user (ten times as many per address) in a window. */
  authFailures: { limit: number; windowSeconds: number };
  /** A vendor adapter other than the HTTP protocol one (tests, other vendors). */
  vendor?: LicenseVendor;
}): Promise<Licensing> {
  const { config, clock } = deps;
  const logger = deps.logger.child({ capability: "licensing" });
  const metrics = createLicenseMetrics(deps.registry);
  const signer = await EnvelopeSigner.load(config.signingKey, deps.database, clock);

  let inner: LicenseVendor | null = deps.vendor ?? null;
  if (!inner && config.vendorUrl && config.vendorPublicKey) {
    inner = new HttpLicenseVendor({
      vendorUrl: config.vendorUrl,
      vendorPublicKey: parseEd25519PublicKey(config.vendorPublicKey),
      timeoutMs: config.timeoutMs,
      maxClockSkewSeconds: config.maxClockSkewSeconds,
      clock,
    });
  }
  if (!inner) logger.warn("no license vendor configured (license.vendorUrl): license checks answer 503");
  const breaker = new CircuitBreaker(
    { failureThreshold: config.breakerFailureThreshold, resetMs: config.breakerResetSeconds * 1000 },
    clock,
    (state) => {
      metrics.breakerState(state);
      logger.warn({ vendor: inner?.url, state }, "license vendor circuit breaker changed state");
    },
  );
  const vendor = inner
    ? new ResilientVendor(
        inner,
        breaker,
        { retries: config.retries, retryBackoffMs: config.retryBackoffMs },
        metrics,
        logger,
      )
    : null;

  const service = new LicenseService({
    database: deps.database,
    clock,
    accounts: deps.accounts,
    vendor,
    signer,
    metrics,
    logger,
    options: config,
  });
  // Disabling an account, a new password or username must count at the next check, not after accountCacheSeconds.
  deps.events.subscribe(() => service.forgetAccounts());

  const digest = new DigestAuthenticator({
    secret: signer.deriveSecret("license-check digest nonces"),
    nonceTtlMs,
    clock,
  });
  // The same limits as SIP REGISTER: these are the same credentials, attacked over HTTP.
  const failureWindowMs = deps.authFailures.windowSeconds * 1000;
  const authenticator = new LicenseClientAuthenticator(
    digest,
    service,
    {
      user: new FailureLimiter(deps.authFailures.limit, failureWindowMs, clock),
      address: new FailureLimiter(deps.authFailures.limit * 10, failureWindowMs, clock),
    },
    logger,
    new DigestSessions(nonceTtlMs, () => clock.now().getTime()),
  );
  return {
    service,
    routes: licensingRoutes({ licenses: service, authenticator, signer }),
    publicKey: { keyId: signer.keyId, publicKeyPem: signer.publicKeyPem },
    drain: () => service.drain(),
  };
}
