import type { KeyHolder } from "../accounts/service.js";
import type { Actor, SystemActor } from "../audit/actor.js";
import type { Clock } from "../clock.js";
import type { Database } from "../db/database.js";
import { NotFoundError } from "../errors.js";
import type { DomainEvent } from "../events.js";
import type { Scope } from "../tenancy/roles.js";
import type { RevocationReason } from "./crl.js";
import type { CrlHead, CrlPublisher } from "./crl-publisher.js";
import type { Revocation } from "./revocation.js";
import { pkiStore as store } from "./store.js";
import { type CertificateView, certificateView } from "./views.js";

/** What the PKI needs of the accounts capability (its KeyHolders part, and its write check). */
export interface PkiAccounts {
  keyHolders: {
    find(
      db: Database["knex"],
      where: { id: string } | { username: string; sipDomain: string },
    ): Promise<KeyHolder | null>;
    assertVisible(db: Database["knex"], scope: Scope, accountId: string): Promise<void>;
    disableForSecurity(
      trx: Database["knex"],
      accountId: string,
      reason: string,
      actor: SystemActor,
    ): Promise<DomainEvent[]>;
  };
  assertAccountWritable(actor: Actor, accountId: string): Promise<void>;
}

export const crlReference = (crl: CrlHead) => ({
  number: crl.number,
  thisUpdate: crl.thisUpdate.toISOString(),
  nextUpdate: crl.nextUpdate.toISOString(),
  url: "/pki/crl",
  pemUrl: "/pki/crl.pem",
});

/** An account's keys as admins see and act on them: the list, "Revoke all keys", revocation on delete. */
export class AccountKeys {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly accounts: PkiAccounts,
    private readonly revocation: Revocation,
    private readonly crl: CrlPublisher,
  ) {}

  /** The account's certificates, newest first (for its details and GET .../certificates). */
  async section(accountId: string): Promise<CertificateView[]> {
    const now = this.clock.now();
    return (await store.certificatesOf(this.db.knex, accountId)).map((row) => certificateView(row, now));
  }

  async list(actor: Actor, accountId: string): Promise<{ items: CertificateView[] }> {
    await this.accounts.keyHolders.assertVisible(this.db.knex, actor.principal.scope, accountId);
    return { items: await this.section(accountId) };
  }

  /** "Revoke all keys": every valid certificate revoked, the CRL regenerated, in one transaction. */
  async revokeAll(actor: Actor, accountId: string, reason: RevocationReason) {
    await this.accounts.assertAccountWritable(actor, accountId);
    const { revoked, crl, published } = await this.db.knex.transaction(async (trx) => {
      await store.lockAccountKeys(trx, accountId);
      const holder = await this.accounts.keyHolders.find(trx, { id: accountId });
      if (!holder) throw new NotFoundError("no such account");
      return this.revocation.revokeAccountKeys(trx, { holder, reason, actor });
    });
    if (published) this.crl.adopt(published);
    const now = this.clock.now();
    return { accountId, revoked: revoked.map((row) => certificateView(row, now)), crl: crlReference(crl) };
  }

  /** A deleted account's keys are revoked too (the account row outlives the delete, so its holder is readable). */
  async revokeDeleted(accountId: string, actor: SystemActor): Promise<number> {
    const result = await this.db.knex.transaction(async (trx) => {
      await store.lockAccountKeys(trx, accountId);
      const owner = await store.certificateOwner(trx, accountId);
      if (!owner) return null;
      return this.revocation.revokeAccountKeys(trx, {
        holder: owner,
        reason: "cessationOfOperation",
        actor,
      });
    });
    if (result?.published) this.crl.adopt(result.published);
    return result?.revoked.length ?? 0;
  }
}
