import type { Knex } from "knex";
import type { SystemActor } from "../audit/actor.js";
import type { AuditService } from "../audit/service.js";
import type { Clock } from "../clock.js";
import type { DomainEvent } from "../events.js";
import type { Scope } from "../tenancy/roles.js";
import { tenancyStore } from "../tenancy/store.js";
import { type AccountRow, accountsStore as store } from "./store.js";
import { accountView } from "./views.js";
import { profileInEffect, visibleAccount } from "./visibility.js";

/** What the PKI needs to know of an account whose keys it certifies. */
export interface KeyHolder {
  accountId: string;
  username: string;
  sipDomain: string;
  status: AccountRow["status"];
  groupId: string;
  organisationId: string;
  /** From the profile in effect. */
  certificateValidityDays: number;
  duressDisablesAccount: boolean;
  /** The IT e-mail of the account's group, else of the nearest parent group that has one. */
  itEmail: string | null;
  groupName: string;
}

/** The accounts' side of the PKI: who holds a key, and disabling an account after a duress code. */
export class KeyHolders {
  constructor(
    private readonly clock: Clock,
    private readonly audit: AuditService,
  ) {}

  /** A live account by id or by SIP identity, read in `db` (the caller's transaction); null when unknown. */
  async find(
    db: Knex,
    where: { id: string } | { username: string; sipDomain: string },
  ): Promise<KeyHolder | null> {
    const row = await store.findLiveAccount(
      db,
      "id" in where ? { id: where.id } : { username: where.username, sip_domain: where.sipDomain },
    );
    if (!row) return null;
    const profile = await profileInEffect(db, row);
    const group = await tenancyStore.findGroup(db, row.group_id);
    if (!group) return null;
    let itEmail = group.it_email;
    // A sub-group without its own IT contact is looked after by its parent's.
    for (let parentId = group.parent_id, hops = 0; !itEmail && parentId && hops < 32; hops++) {
      const parent = await tenancyStore.findGroup(db, parentId);
      itEmail = parent?.it_email ?? null;
      parentId = parent?.parent_id ?? null;
    }
    return {
      accountId: row.id,
      username: row.username,
      sipDomain: row.sip_domain,
      status: row.status,
      groupId: row.group_id,
      organisationId: group.organisation_id,
      certificateValidityDays: profile.settings.certificateValidityDays,
      duressDisablesAccount: profile.settings.duressDisablesAccount ?? false,
      itEmail,
      groupName: group.name,
    };
  }

  /** NotFound unless the account is live and within the scope (admin reads of its keys). */
  async assertVisible(db: Knex, scope: Scope, accountId: string): Promise<void> {
    await visibleAccount(db, scope, accountId);
  }

  /**
   * Disables the account in the caller's transaction (a duress code was used), audited there;
   * answers the domain event to publish after the commit, or none when it was disabled already.
   */
  async disableForSecurity(
    trx: Knex,
    accountId: string,
    reason: string,
    actor: SystemActor,
  ): Promise<DomainEvent[]> {
    const before = await store.findLiveAccount(trx, { id: accountId });
    if (!before || before.status === "disabled") return [];
    const group = await tenancyStore.findGroup(trx, before.group_id);
    const row = await store.updateAccount(
      trx,
      accountId,
      { status: "disabled", disabled_reason: reason },
      this.clock.now(),
    );
    await this.audit.record(trx, actor, {
      action: "account.disabled",
      targetType: "account",
      targetId: accountId,
      organisationId: group?.organisation_id ?? null,
      groupId: row.group_id,
      before: accountView(before),
      after: accountView(row),
    });
    return [{ type: "account.disabled", accountId, reason }];
  }
}
