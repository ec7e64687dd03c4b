import type { DigestAlgorithm } from "../auth/digest.js";
import type { Clock } from "../clock.js";

/** The digest algorithms of the profile that serves a SIP domain; null when no profile does. */
export type FindRealm = (sipDomain: string) => Promise<{ digestAlgorithms: DigestAlgorithm[] } | null>;

interface Entry {
  algorithms: readonly DigestAlgorithm[];
  freshUntil: number;
}

/**
 * Which digest algorithms a realm (a SIP domain, so the profile that names it) is challenged
 * with and accepts. The challenge depends on the realm alone, never on the user, so a known and
 * an unknown name are challenged alike. Cached like credentials; a profile change in this
 * process drops the cache at once (`forget`).
 */
export class RealmDirectory {
  private readonly byDomain = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<readonly DigestAlgorithm[]>>();
  private generation = 0;

  constructor(
    private readonly find: FindRealm,
    /** For a domain no profile serves: its users are all unknown, so this only shapes the 401. */
    private readonly fallback: readonly DigestAlgorithm[],
    private readonly clock: Clock,
    private readonly ttlMs: number,
  ) {}

  algorithmsOf(sipDomain: string): readonly DigestAlgorithm[] | Promise<readonly DigestAlgorithm[]> {
    const domain = sipDomain.toLowerCase();
    const entry = this.byDomain.get(domain);
    const now = this.clock.now().getTime();
    if (entry && now < entry.freshUntil) return entry.algorithms;
    const pending = this.lookup(domain, now);
    if (entry && now < entry.freshUntil + this.ttlMs) {
      pending.catch(() => undefined);
      return entry.algorithms;
    }
    return pending;
  }

  private lookup(domain: string, now: number): Promise<readonly DigestAlgorithm[]> {
    let pending = this.inFlight.get(domain);
    if (!pending) {
      const generation = this.generation;
      pending = this.find(domain)
        .then((realm) => {
          const algorithms = realm?.digestAlgorithms.length ? realm.digestAlgorithms : this.fallback;
          if (generation === this.generation && this.ttlMs > 0) {
            // Bounded: REGISTERs name whatever domain they like.
            if (this.byDomain.size >= 10_000) this.byDomain.clear();
            this.byDomain.set(domain, { algorithms, freshUntil: now + this.ttlMs });
          }
          return algorithms;
        })
        .finally(() => this.inFlight.delete(domain));
      this.inFlight.set(domain, pending);
    }
    return pending;
  }

  /** A profile was created, changed or deleted. */
  forget(): void {
    this.generation++;
    this.byDomain.clear();
  }
}
