import type { Clock } from "../clock.js";
import type { Binding, BindingStore } from "./binding-store.js";

interface CacheEntry {
  bindings: Binding[];
  loadedAt: number;
}

/**
 * The location service: each account's bindings, from an in-memory cache in front of the
 * sip_bindings table. The cache is this node's working copy; an entry older than cacheTtlMs is
 * re-read from the database, so a client that moves to another node is seen within that time.
 */
export class Location {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly loading = new Map<string, Promise<CacheEntry>>();

  constructor(
    private readonly store: BindingStore,
    private readonly clock: Clock,
    private readonly cacheTtlMs = 30_000,
  ) {}

  /** The account's unexpired bindings. */
  async bindingsOf(accountId: string): Promise<Binding[]> {
    const now = this.clock.now().getTime();
    let entry = this.cache.get(accountId);
    if (!entry || now - entry.loadedAt > this.cacheTtlMs) entry = await this.load(accountId);
    return entry.bindings.filter((binding) => binding.expiresAt > now);
  }

  private load(accountId: string): Promise<CacheEntry> {
    let loading = this.loading.get(accountId);
    if (!loading) {
      loading = (async () => {
        // Queued writes first, so the read sees this node's latest changes.
        await this.store.flush();
        const bindings = await this.store.loadAccount(accountId, this.clock.now());
        const entry = { bindings, loadedAt: this.clock.now().getTime() };
        this.cache.set(accountId, entry);
        return entry;
      })().finally(() => this.loading.delete(accountId));
      this.loading.set(accountId, loading);
    }
    return loading;
  }

  /**
   * Sets the account's bindings (the result of one REGISTER) and writes the difference. The
   * cache changes synchronously, so two REGISTERs of one account never interleave here.
   */
  update(accountId: string, bindings: Binding[], upserts: Binding[], deletes: Binding[]): Promise<void> {
    this.cache.set(accountId, {
      bindings,
      loadedAt: this.cache.get(accountId)?.loadedAt ?? this.clock.now().getTime(),
    });
    if (upserts.length === 0 && deletes.length === 0) return Promise.resolve();
    return this.store.write(upserts, deletes);
  }

  /** Drops every binding of an account at once (disabled, deleted, new password or identity). */
  async dropAccount(accountId: string): Promise<void> {
    this.cache.delete(accountId);
    await this.store.deleteAccount(accountId);
    this.cache.delete(accountId);
  }

  /** Removes expired bindings from the cache and the database. */
  async purgeExpired(): Promise<number> {
    const now = this.clock.now().getTime();
    for (const [accountId, entry] of this.cache) {
      const live = entry.bindings.filter((binding) => binding.expiresAt > now);
      if (live.length === 0) this.cache.delete(accountId);
      else if (live.length !== entry.bindings.length) entry.bindings = live;
    }
    await this.store.flush();
    return this.store.purgeExpired(new Date(now));
  }

  flush(): Promise<void> {
    return this.store.flush();
  }
}
