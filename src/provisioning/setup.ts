import type { AccountService } from "../accounts/service.js";
import type { AuditService } from "../audit/service.js";
import { FailureLimiter } from "../auth/failure-limiter.js";
import type { Clock } from "../clock.js";
import type { Config } from "../config/schema.js";
import type { Database } from "../db/database.js";
import type { DomainEvents } from "../events.js";
import type { Route } from "../http/route.js";
import type { Logger } from "../logger.js";
import type { ActivationLinks } from "../messaging/activation-links.js";
import type { Pki } from "../pki/service.js";
import { Activation } from "./activation.js";
import { provisioningRoutes } from "./routes.js";

export interface Provisioning {
  routes: Route[];
  /** The "device" section of the account details. */
  deviceOf(accountId: string): Promise<Record<string, unknown> | null>;
  /** The "activationAttempts" section of the account details. */
  attemptsOf(accountId: string): Promise<Record<string, unknown>[]>;
}

/** Builds PGSM automatic activation over the links messaging makes and the PKI's issuing. */
export function createProvisioning(deps: {
  config: Config["provisioning"];
  database: Database;
  clock: Clock;
  logger: Logger;
  accounts: AccountService;
  links: ActivationLinks;
  pki: Pki;
  audit: AuditService;
  events: DomainEvents;
  licenseSigningKey: { keyId: string; publicKeyPem: string };
  licenseVendorUrl: string | null;
  /** The base URL devices reach this server at, once it listens. */
  publicUrl: () => string;
}): Provisioning {
  const { config, clock } = deps;
  const windowMs = config.failureWindowSeconds * 1000;
  const caFingerprint = deps.pki.ca.fingerprint;
  const activation = new Activation({
    db: deps.database,
    clock,
    logger: deps.logger.child({ capability: "provisioning" }),
    links: deps.links,
    accounts: deps.accounts,
    pki: deps.pki,
    audit: deps.audit,
    events: deps.events,
    server: () => ({
      url: deps.publicUrl(),
      caFingerprint,
      licenseSigningKey: deps.licenseSigningKey,
      licenseVendorUrl: deps.licenseVendorUrl,
    }),
    options: {
      replayWindowSeconds: config.replayWindowSeconds,
      failures: {
        token: new FailureLimiter(config.tokenFailureLimit, windowMs, clock),
        address: new FailureLimiter(config.addressFailureLimit, windowMs, clock),
      },
    },
  });
  return {
    routes: provisioningRoutes(activation),
    deviceOf: (accountId) => activation.deviceOf(accountId),
    attemptsOf: (accountId) => activation.attemptsOf(accountId),
  };
}
