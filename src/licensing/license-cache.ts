import type { LicenseSource } from "./schemas.js";
import type { LicenseCheck } from "./store.js";

/** A signed envelope, kept as the exact bytes the signature covers. */
export interface SignedEnvelope {
  body: Buffer;
  signature: string;
}

/**
 * One cached vendor answer and the envelopes already signed from it. An envelope's bytes depend
 * only on the answer, the account and the source, so each is signed once and served many times;
 * a new answer is a new entry, which drops the old envelopes with it.
 */
export interface CacheEntry {
  readonly check: LicenseCheck;
  readonly envelopes: Map<string, SignedEnvelope>;
}

export function cacheKey(licenseKey: string, fingerprint: string): string {
  return `${licenseKey}\n${fingerprint}`;
}

export function envelopeKey(accountId: string, source: LicenseSource, usable: boolean): string {
  return `${accountId}\n${source}\n${usable}`;
}

const maxEnvelopesPerEntry = 64;

/**
 * The in-memory layer in front of the license_checks table, bounded in size: the entry used
 * longest ago goes first (a Map keeps insertion order, and a hit re-inserts).
 */
export class LicenseMemoryCache {
  private readonly entries = new Map<string, CacheEntry>();

  constructor(private readonly maxEntries = 50_000) {}

  get(key: string): CacheEntry | undefined {
    return this.entries.get(key);
  }

  /** Marks an entry recently used; cheap enough to do on every hit. */
  touch(key: string, entry: CacheEntry): void {
    this.entries.delete(key);
    this.entries.set(key, entry);
  }

  set(key: string, check: LicenseCheck): CacheEntry {
    const entry: CacheEntry = { check, envelopes: new Map() };
    this.entries.delete(key);
    this.entries.set(key, entry);
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    return entry;
  }

  envelope(entry: CacheEntry, key: string, sign: () => SignedEnvelope): SignedEnvelope {
    let envelope = entry.envelopes.get(key);
    if (!envelope) {
      envelope = sign();
      if (entry.envelopes.size >= maxEnvelopesPerEntry) entry.envelopes.clear();
      entry.envelopes.set(key, envelope);
    }
    return envelope;
  }

  clear(): void {
    this.entries.clear();
  }
}
