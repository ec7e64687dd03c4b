import type { Clock } from "../clock.js";
import type { Binding, BindingStore } from "./binding-store.js";

interface CacheEntry {
  bindings: Binding[];
  /** Re-read from the database after this time; spread out so that entries do not expire together. */
  freshUntil: number;
}

/**
 * The location service: each account's bindings, from an in-memory cache in front of the
 * sip_bindings table. The cache is this node's working copy; an entry not written by this node
 * for about cacheTtlMs is re-read from the database, so a client that moves to another node is
 * seen within that time.
 */
export class Location {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly loading = new Map<string, Promise<CacheEntry>>();
  /** Connection flows (TCP, TLS, WS) of this node -> accounts with a binding over them. */
  private readonly accountsOfFlow = new Map<string, Set<string>>();

  constructor(
    private readonly store: BindingStore,
    private readonly clock: Clock,
    private readonly cacheTtlMs = 30_000,
  ) {}

  /** The account's unexpired bindings. */
  async bindingsOf(accountId: string): Promise<Binding[]> {
    const now = this.clock.now().getTime();
    let entry = this.cache.get(accountId);
    if (!entry || now > entry.freshUntil) entry = await this.load(accountId);
    return entry.bindings.filter((binding) => binding.expiresAt > now);
  }

  private load(accountId: string): Promise<CacheEntry> {
    let loading = this.loading.get(accountId);
    if (!loading) {
      loading = (async () => {
        // The store lays this node's unwritten changes over the rows: no need to wait for a flush.
        const bindings = await this.store.loadAccount(accountId, this.clock.now());
        const entry = { bindings, freshUntil: this.freshUntil() };
        this.cache.set(accountId, entry);
        return entry;
      })().finally(() => this.loading.delete(accountId));
      this.loading.set(accountId, loading);
    }
    return loading;
  }

  private freshUntil(): number {
    return this.clock.now().getTime() + this.cacheTtlMs * (0.75 + Math.random() * 0.5);
  }

  /**
   * Sets the account's bindings (the result of one REGISTER) and writes the difference. The
   * cache changes synchronously, so two REGISTERs of one account never interleave here.
   */
  update(accountId: string, bindings: Binding[], upserts: Binding[], deletes: Binding[]): Promise<void> {
    // What this node just wrote is the newest state of the account: fresh again.
    this.cache.set(accountId, { bindings, freshUntil: this.freshUntil() });
    for (const binding of upserts) {
      if (binding.flowId === null || binding.transport === "udp" || binding.connectionLostAt !== null)
        continue;
      let accounts = this.accountsOfFlow.get(binding.flowId);
      if (!accounts) {
        accounts = new Set();
        this.accountsOfFlow.set(binding.flowId, accounts);
      }
      accounts.add(accountId);
    }
    if (upserts.length === 0 && deletes.length === 0) return Promise.resolve();
    return this.store.write(upserts, deletes);
  }

  /**
   * A connection of this node closed: the accounts that had a binding over it, and their
   * address-of-record (so the registrar can change them in turn with their REGISTERs).
   */
  takeFlow(flowId: string): string[] {
    const accounts = this.accountsOfFlow.get(flowId);
    this.accountsOfFlow.delete(flowId);
    return accounts ? [...accounts] : [];
  }

  /**
   * The bindings of an account over a closed connection: removed (they cannot be reached any
   * more), or kept and marked lost. Answers what changed.
   */
  async connectionLost(
    accountId: string,
    flowId: string,
    remove: boolean,
  ): Promise<{ lost: Binding[]; bindings: Binding[] }> {
    const now = this.clock.now().getTime();
    const current = await this.bindingsOf(accountId);
    const lost = current.filter((binding) => binding.flowId === flowId && binding.connectionLostAt === null);
    if (lost.length === 0) return { lost, bindings: current };
    const marked = new Map(lost.map((binding) => [binding.id, { ...binding, connectionLostAt: now }]));
    const bindings = remove
      ? current.filter((binding) => !marked.has(binding.id))
      : current.map((binding) => marked.get(binding.id) ?? binding);
    await this.update(accountId, bindings, remove ? [] : [...marked.values()], remove ? lost : []);
    return { lost, bindings };
  }

  /** Drops every binding of an account at once (disabled, deleted, new password or identity). */
  async dropAccount(accountId: string): Promise<void> {
    this.cache.delete(accountId);
    await this.store.deleteAccount(accountId);
    this.cache.delete(accountId);
  }

  /** Drops every binding of these accounts at once (their organisation or group became inactive). */
  async dropAccounts(accountIds: readonly string[]): Promise<void> {
    for (const accountId of accountIds) this.cache.delete(accountId);
    await this.store.deleteAccounts(accountIds);
    for (const accountId of accountIds) this.cache.delete(accountId);
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
