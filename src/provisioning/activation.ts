import { createHash } from "node:crypto";
import type { AccountService, ActivationTarget } from "../accounts/service.js";
import { type SystemActor, systemActor } from "../audit/actor.js";
import type { AuditService } from "../audit/service.js";
import type { FailureLimiter } from "../auth/failure-limiter.js";
import type { Clock } from "../clock.js";
import type { Database } from "../db/database.js";
import {
  AppError,
  ForbiddenError,
  GoneError,
  NotFoundError,
  RateLimitedError,
  UnprocessableError,
  ValidationError,
} from "../errors.js";
import type { DomainEvent, DomainEvents } from "../events.js";
import type { Logger } from "../logger.js";
import type { ActivationLinks } from "../messaging/activation-links.js";
import type { ActivationTokenRow } from "../messaging/activation-token-store.js";
import type { IssueCertificate, Pki } from "../pki/service.js";
import { configurationDocument, type ServerFacts, withPassword } from "./configuration-document.js";
import type { ConfigurationDocument } from "./schemas.js";
import { devicePlatforms } from "./schemas.js";
import { type DeviceRow, provisioningStore as store } from "./store.js";

/** The problem types a client tells apart (docs/provisioning.md). */
export const goneTypes = {
  used: "activation-link-used",
  expired: "activation-link-expired",
  replaced: "activation-link-replaced",
} as const;

export interface ActivationRequest {
  csr: string;
  device: {
    platform: (typeof devicePlatforms)[number];
    model: string;
    osVersion: string;
    appVersion: string;
    pushToken?: string | null | undefined;
  };
}

export interface ActivationIntro {
  server: { url: string; caFingerprint: string };
  account: { displayName: string | null };
  expiresAt: string;
  activation: {
    method: "POST";
    url: string;
    keyTypes: string[];
    devicePlatforms: Array<(typeof devicePlatforms)[number]>;
  };
}

export interface ActivationOptions {
  replayWindowSeconds: number;
  failures: { token: FailureLimiter; address: FailureLimiter };
}

interface Outcome<T> {
  value: T;
  outcome: string;
  accountId: string;
}

/** The key types the CA certifies (src/pki/csr.ts). */
const keyTypes = ["EC P-256", "EC P-384", "RSA 2048 or more"];

/** Identifies a CSR however it is written (PEM or base64 DER, any line breaks). */
function csrDigest(csr: string): string {
  const body = csr.replace(/-----(BEGIN|END)[^-]*-----/g, "").replace(/\s+/g, "");
  return createHash("sha256").update(Buffer.from(body, "base64")).digest("hex");
}

/** What a failed attempt is called in the attempts list, the log and the audit trail. */
function outcomeOf(error: unknown): string {
  if (error instanceof GoneError) {
    const entry = Object.entries(goneTypes).find(([, type]) => type === error.type);
    return entry ? entry[0] : "gone";
  }
  if (error instanceof NotFoundError) return "unknown";
  if (error instanceof ValidationError)
    return error.errors.some((e) => e.path === "body.csr") ? "invalid_csr" : "invalid_request";
  if (error instanceof ForbiddenError) return "disabled";
  if (error instanceof UnprocessableError) return "refused";
  return "error";
}

/**
 * PGSM automatic activation over an activation link (/a/{token}): what the app is told before it
 * activates, and the activation itself, in one transaction: the link is used up, the account
 * gets a new password and its certificate, the device is recorded and the account is active.
 * A failure anywhere rolls all of it back, so the link stays usable. Every attempt is recorded;
 * failures are counted per link and per address, logged and audited as security events.
 */
export class Activation {
  constructor(
    private readonly deps: {
      db: Database;
      clock: Clock;
      logger: Logger;
      links: ActivationLinks;
      accounts: AccountService;
      pki: { issueCertificate: IssueCertificate; supersedeKeys: Pki["supersedeKeys"] };
      audit: AuditService;
      events: DomainEvents;
      server: () => ServerFacts;
      options: ActivationOptions;
    },
  ) {}

  /** GET /a/{token}: the server's identity, the account's name and what to send. */
  describe(token: string, address: string): Promise<ActivationIntro> {
    return this.attempt("GET", token, address, async (row) => {
      this.assertUsable(row);
      const target = await this.target(row);
      const server = this.deps.server();
      return {
        outcome: "viewed",
        accountId: target.accountId,
        value: {
          server: { url: server.url, caFingerprint: server.caFingerprint },
          account: { displayName: target.displayName },
          expiresAt: new Date(row.expires_at).toISOString(),
          activation: {
            method: "POST",
            url: `${server.url}/a/${token}`,
            keyTypes,
            devicePlatforms: [...devicePlatforms],
          },
        },
      };
    });
  }

  /** POST /a/{token}: activates (or re-provisions) the account; answers the configuration document. */
  activate(token: string, request: ActivationRequest, address: string): Promise<ConfigurationDocument> {
    return this.attempt("POST", token, address, async (row) => {
      const csrSha256 = csrDigest(request.csr);
      if (row.used_at) return this.repeat(row, csrSha256);
      this.assertUsable(row);
      const { db, clock, events } = this.deps;
      const published: DomainEvent[] = [];
      let adoptCrl = () => {};
      const done = await db.knex.transaction(async (trx) => {
        // First, so that of two concurrent activations the second waits here and then loses.
        if (!(await this.deps.links.consume(trx, row))) return null;
        const target = await this.target(row, trx);
        const reprovisioning = target.status === "active";
        const actor = systemActor(`app ${target.username}@${target.sipDomain} (activation from ${address})`);
        const issued = await this.deps.pki.issueCertificate(trx, {
          holder: target,
          csr: request.csr,
          validityDays: target.settings.certificateValidityDays,
          reason: "activation",
          actor,
        });
        const now = clock.now();
        const device = {
          platform: request.device.platform,
          model: request.device.model,
          osVersion: request.device.osVersion,
          appVersion: request.device.appVersion,
        };
        const activated = await this.deps.accounts.activations.activate(trx, target.accountId, actor, {
          device,
          certificateSerial: issued.row.serial,
        });
        published.push(...activated.events);
        // The older keys are revoked in this same transaction: if anything fails, they stay valid.
        const superseded = await this.deps.pki.supersedeKeys(trx, {
          holder: target,
          keep: issued.row.id,
          actor,
        });
        adoptCrl = superseded.adopt;
        const stored = configurationDocument({ target, issued, server: this.deps.server(), issuedAt: now });
        await store.saveDevice(trx, {
          account_id: target.accountId,
          platform: device.platform,
          model: device.model,
          os_version: device.osVersion,
          app_version: device.appVersion,
          push_token: request.device.pushToken ?? null,
          activated_at: activated.passwordChangedAt,
          activation_token_id: row.id,
          csr_sha256: csrSha256,
          certificate_serial: issued.row.serial,
          document: stored,
        });
        return {
          accountId: target.accountId,
          outcome: reprovisioning ? "reprovisioned" : "activated",
          value: withPassword(stored, activated.password),
        };
      });
      if (!done) {
        // Another request used the link first: the same CSR gets its answer, any other is refused.
        return this.repeat(row, csrSha256);
      }
      adoptCrl();
      await events.publish(published);
      return done;
    });
  }

  /** The "device" section of the account details. */
  async deviceOf(accountId: string): Promise<Record<string, unknown> | null> {
    const row = await store.findDevice(this.deps.db.knex, accountId);
    return row ? deviceView(row) : null;
  }

  /** The "activationAttempts" section of the account details: the last ten. */
  async attemptsOf(accountId: string): Promise<Record<string, unknown>[]> {
    const rows = await store.recentAttempts(this.deps.db.knex, accountId, 10);
    return rows.map((row) => ({
      occurredAt: new Date(row.occurred_at).toISOString(),
      method: row.method,
      address: row.address,
      outcome: row.outcome,
      detail: row.detail,
    }));
  }

  /** A used link: the same CSR within the replay window gets the same document again. */
  private async repeat(row: ActivationTokenRow, csrSha256: string): Promise<Outcome<ConfigurationDocument>> {
    const { db, clock } = this.deps;
    const used = new GoneError("this activation link has been used", goneTypes.used);
    const device = await store.findDevice(db.knex, row.account_id);
    if (!device || device.activation_token_id !== row.id || device.csr_sha256 !== csrSha256) throw used;
    const age = clock.now().getTime() - new Date(device.activated_at).getTime();
    if (age > this.deps.options.replayWindowSeconds * 1000) throw used;
    const target = await this.deps.accounts.activations.find(db.knex, row.account_id);
    // A password reset (or a newer activation) since: the stored answer no longer holds.
    if (target?.passwordChangedAt?.getTime() !== new Date(device.activated_at).getTime()) throw used;
    const password = await this.deps.accounts.activations.currentPassword(db.knex, row.account_id);
    if (!password) throw used;
    return {
      accountId: row.account_id,
      outcome: "repeated",
      value: withPassword(device.document, password),
    };
  }

  private assertUsable(row: ActivationTokenRow): void {
    if (row.used_at) throw new GoneError("this activation link has been used", goneTypes.used);
    if (row.invalidated_at)
      throw new GoneError("this activation link was replaced by a newer one", goneTypes.replaced);
    if (new Date(row.expires_at).getTime() <= this.deps.clock.now().getTime())
      throw new GoneError("this activation link has expired", goneTypes.expired);
  }

  private async target(row: ActivationTokenRow, db = this.deps.db.knex): Promise<ActivationTarget> {
    const target = await this.deps.accounts.activations.find(db, row.account_id);
    if (!target) throw new NotFoundError("no such activation link");
    if (target.type !== "PGSM") throw new UnprocessableError("only the PGSM app activates with a link");
    if (target.status === "disabled")
      throw new ForbiddenError("the account is disabled: ask your administrator to enable it");
    return target;
  }

  /**
   * One attempt: refused at once while its link or address is blocked; otherwise run, recorded
   * with its outcome, and on failure counted, logged and audited.
   */
  private async attempt<T>(
    method: "GET" | "POST",
    token: string,
    address: string,
    work: (row: ActivationTokenRow) => Promise<Outcome<T>>,
  ): Promise<T> {
    const { db, clock, logger, options } = this.deps;
    const tokenKey = createHash("sha256").update(token).digest("hex");
    const row = await this.deps.links.lookup(db.knex, token);
    const blocked = Math.max(
      options.failures.token.blockedForSeconds(tokenKey),
      options.failures.address.blockedForSeconds(address),
    );
    const record = (outcome: string, accountId: string | null, detail: string | null) =>
      store.insertAttempt(db.knex, {
        account_id: accountId,
        activation_token_id: row?.id ?? null,
        occurred_at: clock.now(),
        method,
        address,
        outcome,
        detail,
      });
    if (blocked > 0) {
      await record("rate_limited", row?.account_id ?? null, null);
      throw new RateLimitedError(blocked, "too many failed activation attempts: try again later");
    }
    try {
      if (!row) throw new NotFoundError("no such activation link");
      const result = await work(row);
      await record(result.outcome, result.accountId, null);
      return result.value;
    } catch (error) {
      const outcome = outcomeOf(error);
      const detail = error instanceof Error ? error.message : String(error);
      await record(outcome, row?.account_id ?? null, detail).catch((err: unknown) =>
        logger.error({ err }, "an activation attempt could not be recorded"),
      );
      if (error instanceof AppError && error.status < 500) {
        const byToken = options.failures.token.recordFailure(tokenKey);
        const byAddress = options.failures.address.recordFailure(address);
        await this.securityEvent(row, {
          method,
          address,
          outcome,
          detail,
          blocked: byToken.blockedNow || byAddress.blockedNow,
        });
      }
      throw error;
    }
  }

  private async securityEvent(
    row: ActivationTokenRow | undefined,
    failure: { method: string; address: string; outcome: string; detail: string; blocked: boolean },
  ): Promise<void> {
    const { db, logger, audit } = this.deps;
    const target = row ? await this.deps.accounts.activations.find(db.knex, row.account_id) : null;
    logger.warn(
      {
        security: failure.blocked ? "provisioning.activation_blocked" : "provisioning.activation_failed",
        accountId: row?.account_id ?? null,
        ...failure,
      },
      failure.blocked ? "activation attempts blocked after repeated failures" : "activation attempt failed",
    );
    const actor: SystemActor = systemActor(`activation attempt from ${failure.address}`);
    await audit
      .record(db.knex, actor, {
        action: failure.blocked ? "security.activation_blocked" : "security.activation_failed",
        targetType: target ? "account" : "activation_link",
        targetId: target?.accountId ?? null,
        organisationId: target?.organisationId ?? null,
        groupId: target?.groupId ?? null,
        after: failure,
      })
      .catch((err: unknown) => logger.error({ err }, "an activation failure could not be audited"));
  }
}

function deviceView(row: DeviceRow) {
  return {
    platform: row.platform,
    model: row.model,
    osVersion: row.os_version,
    appVersion: row.app_version,
    hasPushToken: row.push_token !== null,
    activatedAt: new Date(row.activated_at).toISOString(),
    certificateSerial: row.certificate_serial,
  };
}
