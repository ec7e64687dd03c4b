import type { Knex } from "knex";
import type { Actor, SystemActor } from "../audit/actor.js";
import type { AuditService } from "../audit/service.js";
import type { Clock } from "../clock.js";
import type { RevocationReason } from "./crl.js";
import type { CrlHead, CrlPublisher, PublishedCrl } from "./crl-publisher.js";
import type { CertificateHolder } from "./issue-certificate.js";
import { type CertificateRow, pkiStore as store } from "./store.js";

/**
 * Revokes an account's keys in the caller's transaction: every certificate not yet revoked or
 * expired (but `keep`), each audited, then a new CRL that lists them, signed in the same
 * transaction so the answer can point to a CRL that is already the one served.
 */
export class Revocation {
  constructor(
    private readonly clock: Clock,
    private readonly audit: AuditService,
    private readonly crl: CrlPublisher,
  ) {}

  async revokeAccountKeys(
    trx: Knex,
    input: {
      holder: Pick<CertificateHolder, "accountId" | "groupId" | "organisationId">;
      reason: RevocationReason;
      actor: Actor | SystemActor;
      /** A certificate issued in this transaction that stays valid (a rekey's new key). */
      keep?: string;
    },
  ): Promise<{ revoked: CertificateRow[]; crl: CrlHead; published: PublishedCrl | null }> {
    const now = this.clock.now();
    const candidates = (await store.unrevokedCertificatesOf(trx, input.holder.accountId, now)).filter(
      (row) => row.id !== input.keep,
    );
    const revoked = await store.revoke(
      trx,
      candidates.map((row) => row.id),
      now,
      input.reason,
    );
    if (revoked.length > 0) {
      await this.audit.record(
        trx,
        input.actor,
        ...revoked.map((row) => ({
          action: "certificate.revoked",
          targetType: "account",
          targetId: input.holder.accountId,
          organisationId: input.holder.organisationId,
          groupId: input.holder.groupId,
          after: { serial: row.serial, fingerprint: row.fingerprint, reason: input.reason },
        })),
      );
    }
    // Nothing revoked (a first key): the CRL in force already says everything; re-signing 100,000
    // entries for nothing would cost seconds.
    const unchanged = revoked.length === 0 ? await this.crl.headIn(trx) : null;
    if (unchanged) return { revoked, crl: unchanged, published: null };
    const published = await this.crl.regenerate(trx);
    return { revoked, crl: published, published };
  }
}
