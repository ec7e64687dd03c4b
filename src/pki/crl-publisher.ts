import type { Knex } from "knex";
import type { Clock } from "../clock.js";
import type { Database } from "../db/database.js";
import type { Logger } from "../logger.js";
import type { CertificateAuthority } from "./certificate-authority.js";
import { buildCrl, type CrlEntry, crlPem, type RevocationReason, revocationReasons } from "./crl.js";
import { pkiStore as store } from "./store.js";

/** Which CRL is in force, without its bytes. */
export interface CrlHead {
  number: string;
  thisUpdate: Date;
  nextUpdate: Date;
}

export interface PublishedCrl extends CrlHead {
  der: Buffer;
  pem: string;
}

const toReason = (value: string | null): RevocationReason =>
  value && value in revocationReasons ? (value as RevocationReason) : "unspecified";

/**
 * The CRL: regenerated inside the transaction that revokes (so the answer of a revoke names a
 * CRL that lists it), and again before its nextUpdate passes. Every process serves the one row
 * in pki_crl; the bytes are kept in memory and re-read only when the number there moves.
 */
export class CrlPublisher {
  private cached: PublishedCrl | null = null;
  private regenerating: Promise<PublishedCrl> | null = null;

  constructor(
    private readonly db: Database,
    private readonly ca: () => CertificateAuthority,
    private readonly clock: Clock,
    private readonly options: { validitySeconds: number; refreshAheadSeconds: number },
    private readonly logger: Logger,
  ) {}

  /** Signs a new CRL of every revoked, unexpired certificate, in `trx` (it sees the caller's revocations). */
  async regenerate(trx: Knex): Promise<PublishedCrl> {
    const ca = this.ca();
    const number = await store.lockNextCrlNumber(trx);
    const thisUpdate = this.clock.now();
    const nextUpdate = new Date(thisUpdate.getTime() + this.options.validitySeconds * 1000);
    const entries: CrlEntry[] = [];
    for (const row of await store.revokedForCrl(trx, thisUpdate)) {
      entries.push({
        serial: row.serial,
        revokedAt: new Date(row.revoked_at),
        reason: toReason(row.revocation_reason),
      });
    }
    const der = buildCrl({ ca, number, thisUpdate, nextUpdate, entries });
    await store.saveCrl(trx, {
      number: number.toString(),
      this_update: thisUpdate,
      next_update: nextUpdate,
      ca_fingerprint: ca.fingerprint,
      der_base64: der.toString("base64"),
    });
    const published = { number: number.toString(), thisUpdate, nextUpdate, der, pem: crlPem(der) };
    this.logger.debug({ number: published.number, entries: entries.length }, "PKI: CRL regenerated");
    return published;
  }

  /** The CRL in force as `trx` sees it, if it is current (signed by this CA, not due); else null. */
  async headIn(trx: Knex): Promise<CrlHead | null> {
    const row = await store.crlHead(trx);
    if (!row || this.isDue(row)) return null;
    return {
      number: String(row.number),
      thisUpdate: new Date(row.this_update),
      nextUpdate: new Date(row.next_update),
    };
  }

  private isDue(row: { ca_fingerprint: string; next_update: Date }): boolean {
    const now = this.clock.now().getTime();
    return (
      row.ca_fingerprint !== this.ca().fingerprint ||
      new Date(row.next_update).getTime() - this.options.refreshAheadSeconds * 1000 <= now
    );
  }

  /** Remembers a CRL a committed transaction published, so this process serves it at once. */
  adopt(crl: PublishedCrl): void {
    if (!this.cached || BigInt(crl.number) >= BigInt(this.cached.number)) this.cached = crl;
  }

  /** The CRL to serve: the stored one, regenerated first when missing, due, or signed by another CA. */
  async current(): Promise<PublishedCrl> {
    const row = await store.crlHead(this.db.knex);
    if (!row || this.isDue(row)) {
      this.regenerating ??= this.db.knex
        .transaction((trx) => this.regenerate(trx))
        .then((crl) => {
          this.adopt(crl);
          return crl;
        })
        .finally(() => {
          this.regenerating = null;
        });
      return this.regenerating;
    }
    if (this.cached?.number === String(row.number)) return this.cached;
    const full = await store.crl(this.db.knex);
    if (!full) return this.current();
    const der = Buffer.from(full.der_base64, "base64");
    this.cached = {
      number: String(full.number),
      thisUpdate: new Date(full.this_update),
      nextUpdate: new Date(full.next_update),
      der,
      pem: crlPem(der),
    };
    return this.cached;
  }

  /** Keeps the CRL fresh when nobody asks for it (relying parties fetch it, but nextUpdate must not pass). */
  schedule(): () => void {
    const intervalMs = Math.max(1000, Math.min(60_000, (this.options.refreshAheadSeconds * 1000) / 4));
    const timer = setInterval(() => {
      this.current().catch((error: unknown) =>
        this.logger.warn({ err: error }, "PKI: CRL regeneration failed"),
      );
    }, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }
}
