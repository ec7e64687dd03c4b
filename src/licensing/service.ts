import type { LicenseContext, SipSubscriber } from "../accounts/service.js";
import type { Clock } from "../clock.js";
import type { Database } from "../db/database.js";
import {
  ConflictError,
  DependencyUnavailableError,
  ForbiddenError,
  NotFoundError,
  UnprocessableError,
} from "../errors.js";
import type { Logger } from "../logger.js";
import type { Actor } from "../tenancy/service.js";
import type { EnvelopeSigner } from "./envelope-signer.js";
import {
  type CacheEntry,
  cacheKey,
  envelopeKey,
  LicenseMemoryCache,
  type SignedEnvelope,
} from "./license-cache.js";
import type { LicenseMetrics } from "./metrics.js";
import type { LicenseDetails, LicenseEnvelope, LicenseSource } from "./schemas.js";
import { type LicenseCheck, licenseStore } from "./store.js";
import { type LicenseVendor, VendorFailure, type VerifiedAnswer } from "./vendor-client.js";

/** What the license proxy reads of accounts; AccountService provides it. */
export interface LicenseAccounts {
  findSipSubscriber(username: string, sipDomain: string): Promise<SipSubscriber | null>;
  licenseContext(accountId: string): Promise<LicenseContext | null>;
  assertAccountWritable(actor: Actor, accountId: string): Promise<void>;
  recordAccountAction(
    actor: Actor,
    accountId: string,
    action: string,
    after: Record<string, unknown>,
  ): Promise<void>;
}

/** A SIP subscriber with what its license check needs, as cached for accountCacheSeconds. */
export interface LicenseClient {
  subscriber: SipSubscriber;
  context: LicenseContext;
}

export interface LicenseServiceOptions {
  ttlSeconds: number;
  maxTtlSeconds: number;
  refreshAheadSeconds: number;
  gracePeriodSeconds: number;
  accountCacheSeconds: number;
}

/** A license in `direct` mode: the client must ask the vendor itself, at this URL. */
export class DirectLicenseModeError extends ConflictError {
  constructor(readonly vendorUrl: string | null) {
    super(
      vendorUrl
        ? `this account checks its license with the vendor directly, at ${vendorUrl}`
        : "this account checks its license with the vendor directly, not through this server",
    );
  }
}

/** After a failed vendor call, answers for that license come from the cache for this long. */
const failureBackoffMs = 5000;

interface Resolution {
  entry: CacheEntry;
  source: LicenseSource;
}

interface MemoEntry extends CacheEntry {
  failedAt?: number;
}

/**
 * License checks proxied to the vendor: verified answers cached in memory and in the database,
 * one vendor request at a time per license, refreshed ahead of expiry, served stale within the
 * grace period when the vendor is unavailable, and answered in envelopes this server signs.
 */
export class LicenseService {
  private readonly memory = new LicenseMemoryCache();
  private readonly flights = new Map<string, Promise<Resolution>>();
  /** null: no such account, kept as long so an unknown name costs no more than a known one. */
  private readonly clients = new Map<string, { client: LicenseClient | null; until: number }>();

  constructor(
    private readonly deps: {
      database: Database;
      clock: Clock;
      accounts: LicenseAccounts;
      /** null when license.vendorUrl is not configured. */
      vendor: LicenseVendor | null;
      signer: EnvelopeSigner;
      metrics: LicenseMetrics;
      logger: Logger;
      options: LicenseServiceOptions;
    },
  ) {}

  // Device-facing

  /** The account behind SIP credentials, with its license context; null for unknown or deleted. */
  async client(username: string, sipDomain: string): Promise<LicenseClient | null> {
    const key = `${username}\n${sipDomain}`;
    const now = this.deps.clock.now().getTime();
    const cached = this.clients.get(key);
    if (cached && cached.until > now) return cached.client;
    const subscriber = await this.deps.accounts.findSipSubscriber(username, sipDomain);
    const context = subscriber ? await this.deps.accounts.licenseContext(subscriber.accountId) : null;
    const client = subscriber && context ? { subscriber, context } : null;
    // Unknown names are kept too (any account event, account.created included, clears them all).
    if (this.deps.options.accountCacheSeconds > 0) {
      if (this.clients.size >= 100_000) this.clients.clear();
      this.clients.set(key, { client, until: now + this.deps.options.accountCacheSeconds * 1000 });
    }
    return client;
  }

  /** Account changes (disable, password, identity...) take effect at once, not after accountCacheSeconds. */
  forgetAccounts(): void {
    this.clients.clear();
  }

  /** The signed answer to an authenticated client's license check. */
  async check(client: LicenseClient, fingerprint: string | undefined): Promise<SignedEnvelope> {
    const { subscriber, context } = client;
    if (subscriber.status === "disabled") {
      throw new ForbiddenError(
        `the account is disabled${subscriber.disabledReason ? `: ${subscriber.disabledReason}` : ""}`,
      );
    }
    if (subscriber.status !== "active") throw new ForbiddenError("the account is not activated yet");
    if (context.licenseMode === "direct") throw new DirectLicenseModeError(this.deps.vendor?.url ?? null);
    const licenseKey = context.licenseKey;
    if (!licenseKey)
      throw new UnprocessableError("the account has no license key: ask the operator to set one");
    const device = fingerprint ?? subscriber.accountId;
    const key = cacheKey(licenseKey, device);
    const now = this.deps.clock.now().getTime();

    const cached = this.memory.get(key) as MemoEntry | undefined;
    if (cached && now < freshUntil(cached.check)) {
      this.deps.metrics.cacheLookup("hit");
      this.memory.touch(key, cached);
      this.refreshAheadIfDue(key, cached, context, device, now);
      return this.envelope(cached, client, "cache", now);
    }
    if (cached?.failedAt !== undefined && now - cached.failedAt < failureBackoffMs) {
      this.deps.metrics.cacheLookup("stale");
      return this.envelope(cached, client, "stale", now);
    }
    const { entry, source } = await this.flight(key, () => this.resolve(context, licenseKey, device, false));
    this.deps.metrics.cacheLookup(source === "vendor" ? "miss" : source === "cache" ? "hit" : "stale");
    return this.envelope(entry, client, source, this.deps.clock.now().getTime());
  }

  // Admin

  /** Asks the vendor now, whatever the cache holds, and answers the account's license section. */
  async refresh(actor: Actor, accountId: string): Promise<LicenseDetails> {
    await this.deps.accounts.assertAccountWritable(actor, accountId);
    const context = await this.deps.accounts.licenseContext(accountId);
    if (!context) throw new NotFoundError("no such account");
    const licenseKey = context.licenseKey;
    if (!licenseKey) throw new UnprocessableError("the account has no license key to check");
    const latest = await licenseStore.latestForAccount(this.deps.database.knex, accountId, licenseKey);
    const device = latest?.fingerprint ?? accountId;
    const key = cacheKey(licenseKey, device);
    // A check already under way may have been answered from the cache: wait for it, then ask anew.
    await this.flights.get(key)?.catch(() => undefined);
    const { source, entry } = await this.flight(key, () => this.resolve(context, licenseKey, device, true));
    if (source === "stale") {
      throw new DependencyUnavailableError(
        `the vendor's license server could not be asked: ${entry.check.lastFailure ?? "unavailable"}`,
      );
    }
    const details = (await this.details(accountId)) as LicenseDetails;
    await this.deps.accounts.recordAccountAction(actor, accountId, "account.license_refreshed", details);
    return details;
  }

  /** The account's license section: the last answer the vendor gave for it, and how fresh it is. */
  async details(accountId: string): Promise<LicenseDetails | null> {
    const context = await this.deps.accounts.licenseContext(accountId);
    if (!context) return null;
    const none: LicenseDetails = {
      licenseKey: context.licenseKey,
      licenseMode: context.licenseMode,
      checked: false,
      valid: null,
      status: null,
      code: null,
      detail: null,
      expiry: null,
      lastCheckedAt: null,
      source: null,
      freshUntil: null,
      graceUntil: null,
      lastFailureAt: null,
      lastFailure: null,
    };
    if (!context.licenseKey) return none;
    const check = await licenseStore.latestForAccount(this.deps.database.knex, accountId, context.licenseKey);
    if (!check) return none;
    const now = this.deps.clock.now().getTime();
    const fresh = now < freshUntil(check);
    const verdict = this.verdict(check, fresh ? "vendor" : "stale", now);
    return {
      ...none,
      checked: true,
      valid: verdict.valid,
      status: check.license?.status ?? null,
      code: verdict.code,
      detail: verdict.detail,
      expiry: check.license?.expiry ?? null,
      lastCheckedAt: check.checkedAt.toISOString(),
      source: fresh ? "vendor" : "stale",
      freshUntil: new Date(freshUntil(check)).toISOString(),
      graceUntil: verdict.graceUntil,
      lastFailureAt: check.lastFailureAt?.toISOString() ?? null,
      lastFailure: check.lastFailure,
    };
  }

  /** Waits for vendor calls under way (background refreshes included), for a clean shutdown. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.flights.values()]);
  }

  // Inside

  private flight(key: string, run: () => Promise<Resolution>): Promise<Resolution> {
    const running = this.flights.get(key);
    if (running) return running;
    const started = run().finally(() => this.flights.delete(key));
    this.flights.set(key, started);
    return started;
  }

  private refreshAheadIfDue(
    key: string,
    entry: MemoEntry,
    context: LicenseContext,
    device: string,
    now: number,
  ): void {
    if (!this.deps.vendor || this.flights.has(key)) return;
    if (freshUntil(entry.check) - now > this.deps.options.refreshAheadSeconds * 1000) return;
    if (entry.failedAt !== undefined && now - entry.failedAt < failureBackoffMs) return;
    const licenseKey = entry.check.licenseKey;
    this.flight(key, () => this.resolve(context, licenseKey, device, true)).catch((error: unknown) => {
      this.deps.logger.warn(
        { err: error, accountId: context.accountId },
        "license refresh ahead of expiry failed",
      );
    });
  }

  /**
   * The answer for one license and device: the stored one while fresh (unless forced), else the
   * vendor's; when the vendor fails, the stored one as stale, or 503 when there is none.
   */
  private async resolve(
    context: LicenseContext,
    licenseKey: string,
    fingerprint: string,
    force: boolean,
  ): Promise<Resolution> {
    const { database, clock, vendor } = this.deps;
    const key = cacheKey(licenseKey, fingerprint);
    // The database may hold a fresher answer than memory: another process may have asked the vendor.
    let stored =
      (await licenseStore.find(database.knex, licenseKey, fingerprint)) ?? this.memory.get(key)?.check;
    if (!force && stored && clock.now().getTime() < freshUntil(stored)) {
      return { entry: this.memory.set(key, stored), source: "cache" };
    }
    if (!vendor) {
      const reason = "no vendor license server is configured (license.vendorUrl)";
      if (stored) return { entry: this.failed(key, { ...stored, lastFailure: reason }), source: "stale" };
      throw new DependencyUnavailableError(`${reason}: license checks cannot be answered`);
    }
    let verified: VerifiedAnswer;
    try {
      verified = await vendor.validate({ licenseKey, fingerprint });
    } catch (error) {
      if (!(error instanceof VendorFailure)) throw error;
      const at = clock.now();
      if (!stored) {
        throw new DependencyUnavailableError(
          `the vendor's license server is unavailable (${error.message}) and there is no earlier answer for this license`,
        );
      }
      stored = { ...stored, lastFailureAt: at, lastFailure: error.message };
      await licenseStore.recordFailure(database.knex, licenseKey, fingerprint, error.message, at);
      return { entry: this.failed(key, stored), source: "stale" };
    }
    const check = this.checkFrom(verified, context.accountId, licenseKey, fingerprint);
    await licenseStore.save(database.knex, check, clock.now());
    return { entry: this.memory.set(key, check), source: "vendor" };
  }

  private failed(key: string, check: LicenseCheck): CacheEntry {
    const entry = this.memory.set(key, check) as MemoEntry;
    entry.failedAt = this.deps.clock.now().getTime();
    return entry;
  }

  private checkFrom(
    { answer, receivedAt }: VerifiedAnswer,
    accountId: string,
    licenseKey: string,
    fingerprint: string,
  ): LicenseCheck {
    const { ttlSeconds, maxTtlSeconds } = this.deps.options;
    let ttl = Math.min(answer.ttl ?? ttlSeconds, maxTtlSeconds);
    // A valid license is not cached past its own expiry.
    const expiry = answer.license?.expiry ? Date.parse(answer.license.expiry) : Number.NaN;
    if (answer.valid && !Number.isNaN(expiry)) {
      ttl = Math.max(0, Math.min(ttl, Math.floor((expiry - receivedAt.getTime()) / 1000)));
    }
    // A VALID answer for a license whose expiry has passed contradicts itself: it is expired.
    const expiredAlready = answer.valid && !Number.isNaN(expiry) && expiry <= receivedAt.getTime();
    return {
      licenseKey,
      fingerprint,
      accountId,
      // The vendor's `valid` and `code` must agree; an answer that says valid with another code
      // (one this server does not know included) is not valid.
      valid: answer.valid && answer.code === "VALID" && !expiredAlready,
      code: expiredAlready ? "EXPIRED" : answer.code,
      detail: expiredAlready
        ? `the vendor answered VALID, but the license expired at ${new Date(expiry).toISOString()}`
        : (answer.detail ?? null),
      license: answer.license ?? null,
      checkedAt: receivedAt,
      ttlSeconds: ttl,
      lastFailureAt: null,
      lastFailure: null,
    };
  }

  /** What a client may conclude now from a stored answer served from `source`. */
  private verdict(check: LicenseCheck, source: LicenseSource, now: number) {
    const expiry = check.license?.expiry ? Date.parse(check.license.expiry) : Number.NaN;
    if (check.valid && !Number.isNaN(expiry) && now >= expiry) {
      // Valid when the vendor said so, but the license has expired since: never served as valid.
      return {
        valid: false,
        code: "EXPIRED",
        detail: `the license expired at ${new Date(expiry).toISOString()}`,
        graceUntil: null,
      };
    }
    const graceEnd = check.valid ? graceUntil(check, this.deps.options.gracePeriodSeconds) : null;
    const graceIso = graceEnd === null ? null : new Date(graceEnd).toISOString();
    if (source === "stale" && check.valid && graceEnd !== null && now > graceEnd) {
      return {
        valid: false,
        code: "GRACE_EXPIRED" as const,
        detail:
          `the vendor's license server could not be reached; its last answer (VALID, checked at ` +
          `${check.checkedAt.toISOString()}) was usable until ${graceIso}, and that grace period is over`,
        graceUntil: graceIso,
      };
    }
    if (source === "stale") {
      return {
        valid: check.valid,
        code: check.code,
        detail: check.valid
          ? `the vendor's license server could not be reached; this is its last answer, usable until ${graceIso}`
          : check.detail,
        graceUntil: graceIso,
      };
    }
    return { valid: check.valid, code: check.code, detail: check.detail, graceUntil: graceIso };
  }

  private envelope(
    entry: CacheEntry,
    client: LicenseClient,
    source: LicenseSource,
    now: number,
  ): SignedEnvelope {
    const verdict = this.verdict(entry.check, source, now);
    const { subscriber } = client;
    const key = `${envelopeKey(subscriber.accountId, source, verdict.valid)}\n${subscriber.username}\n${subscriber.sipDomain}`;
    return this.memory.envelope(entry, key, () => {
      const check = entry.check;
      const body: LicenseEnvelope = {
        version: 1,
        accountId: subscriber.accountId,
        username: subscriber.username,
        sipDomain: subscriber.sipDomain,
        licenseKey: check.licenseKey,
        fingerprint: check.fingerprint,
        valid: verdict.valid,
        code: verdict.code,
        detail: verdict.detail,
        license: check.license
          ? {
              status: check.license.status,
              expiry: check.license.expiry ?? null,
              entitlements: check.license.entitlements ?? [],
              maxDevices: check.license.maxDevices ?? null,
            }
          : null,
        checkedAt: check.checkedAt.toISOString(),
        source,
        ttl: check.ttlSeconds,
        graceUntil: verdict.graceUntil,
      };
      const bytes = Buffer.from(JSON.stringify(body), "utf8");
      return { body: bytes, signature: this.deps.signer.sign(bytes) };
    });
  }
}

function freshUntil(check: LicenseCheck): number {
  return check.checkedAt.getTime() + check.ttlSeconds * 1000;
}

/** A valid answer is usable through outages until TTL plus grace, but never past the license's expiry. */
function graceUntil(check: LicenseCheck, gracePeriodSeconds: number): number {
  const end = freshUntil(check) + gracePeriodSeconds * 1000;
  const expiry = check.license?.expiry ? Date.parse(check.license.expiry) : Number.NaN;
  return Number.isNaN(expiry) ? end : Math.min(end, expiry);
}
