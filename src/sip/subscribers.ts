import type { SipSubscriber } from "../accounts/service.js";
import type { Clock } from "../clock.js";

const maxUnknownNames = 100_000;

export type FindSipSubscriber = (username: string, sipDomain: string) => Promise<SipSubscriber | null>;
/** The live accounts of an organisation or a group subtree. */
export type AccountIdsIn = (where: { organisationId: string } | { groupId: string }) => Promise<string[]>;

interface Entry {
  /** null: no such account (kept as long, so an unknown name answers as fast as a known one). */
  subscriber: SipSubscriber | null;
  /** Served from memory until then; spread out so that a whole warm cache does not expire at once. */
  freshUntil: number;
}

/**
 * The accounts the registrar authenticates, cached by username@domain. Names that are no
 * account are cached too: otherwise each guess at an unknown name costs a database lookup and
 * answers measurably slower than a wrong password for a known one. A new account (or a new
 * name) drops the entry of its name at once (`forgetName`), so it can register at once; domain
 * events drop an account's entry the moment it is disabled, deleted, or gets a new password or
 * identity.
 */
export class SubscriberDirectory {
  private readonly byKey = new Map<string, Entry>();
  /** Unknown names in byKey, bounded: anyone can send REGISTERs for names that do not exist. */
  private unknownNames = 0;
  private readonly keyOfAccount = new Map<string, string>();
  private readonly inFlight = new Map<string, Promise<SipSubscriber | null>>();
  private generation = 0;

  constructor(
    private readonly find: FindSipSubscriber,
    private readonly clock: Clock,
    private readonly ttlMs: number,
  ) {}

  /**
   * The subscriber, from memory while fresh. A little past freshness (up to one more TTL) the
   * cached answer is still served while a lookup refreshes it in the background, so a busy
   * registrar never waits on the database for accounts it knows; changes made in this process
   * drop the entry at once (forgetAccount), changes made on another node are seen within 2 TTLs.
   */
  async get(username: string, sipDomain: string): Promise<SipSubscriber | null> {
    const key = `${username}@${sipDomain.toLowerCase()}`;
    const entry = this.byKey.get(key);
    const now = this.clock.now().getTime();
    if (entry && now < entry.freshUntil) return entry.subscriber;
    const pending = this.lookup(key, username, sipDomain.toLowerCase(), now);
    if (entry && now < entry.freshUntil + this.ttlMs) {
      pending.catch(() => undefined);
      return entry.subscriber;
    }
    return pending;
  }

  private lookup(
    key: string,
    username: string,
    sipDomain: string,
    now: number,
  ): Promise<SipSubscriber | null> {
    let pending = this.inFlight.get(key);
    if (!pending) {
      const generation = this.generation;
      pending = this.find(username, sipDomain)
        .then((subscriber) => {
          // An event that arrived during the lookup may have made this answer stale: do not keep it.
          if (generation !== this.generation) return subscriber;
          if (this.ttlMs > 0) {
            const before = this.byKey.get(key);
            if (before && before.subscriber === null) this.unknownNames--;
            if (!subscriber && this.unknownNames >= maxUnknownNames) this.dropUnknownNames();
            this.byKey.set(key, { subscriber, freshUntil: now + this.ttlMs * (0.75 + Math.random() * 0.5) });
            if (subscriber) this.keyOfAccount.set(subscriber.accountId, key);
            else this.unknownNames++;
          }
          return subscriber;
        })
        .finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  /** Forgets every cached account (an organisation, group or profile changed; events were missed). */
  forgetAll(): void {
    this.generation++;
    this.byKey.clear();
    this.keyOfAccount.clear();
    this.unknownNames = 0;
  }

  /** A name that may be an account now (created, or renamed to): not "unknown" any more. */
  forgetName(username: string, sipDomain: string): void {
    this.generation++;
    const key = `${username}@${sipDomain.toLowerCase()}`;
    const entry = this.byKey.get(key);
    if (entry?.subscriber === null) this.unknownNames--;
    this.byKey.delete(key);
  }

  private dropUnknownNames(): void {
    for (const [key, entry] of this.byKey) if (entry.subscriber === null) this.byKey.delete(key);
    this.unknownNames = 0;
  }

  forgetAccount(accountId: string): void {
    this.generation++;
    const key = this.keyOfAccount.get(accountId);
    if (key !== undefined) this.byKey.delete(key);
    this.keyOfAccount.delete(accountId);
  }
}
