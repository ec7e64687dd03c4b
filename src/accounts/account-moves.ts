import type { z } from "zod";
import type { Actor } from "../audit/actor.js";
import type { AuditService } from "../audit/service.js";
import type { Clock } from "../clock.js";
import { withConflicts } from "../db/constraints.js";
import type { Database } from "../db/database.js";
import { ConflictError, NotFoundError } from "../errors.js";
import type { DomainEvent, DomainEvents } from "../events.js";
import { tenancyStore } from "../tenancy/store.js";
import { type CredentialCipher, ha1Columns } from "./credentials.js";
import { assertGroupTakesAccounts } from "./group-activity.js";
import type { moveAccountBody } from "./schemas.js";
import { type AccountRow, accountsStore as store } from "./store.js";
import type { GroupAccess } from "./subscribers.js";
import { assertRealmOfOrganisation } from "./tenant-domains.js";
import { type Account, accountView } from "./views.js";
import { visibleAccount } from "./visibility.js";

type Input<S extends z.ZodType> = z.output<S>;

/**
 * Moving a device to another group or sub-group of its organisation: the account keeps its id,
 * username, password, keys and history. An account with a profile of its own (`profileId` set)
 * keeps it; one that follows its group's default (`profileId` null) follows the new group's, and
 * when that default serves another SIP domain, the account moves to that realm (new HA1s, its
 * registrations dropped), as when a group's default changes.
 */
export class AccountMoves {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly tenancy: GroupAccess,
    private readonly cipher: CredentialCipher,
    private readonly events: DomainEvents,
    private readonly audit: AuditService,
  ) {}

  async move(actor: Actor, id: string, body: Input<typeof moveAccountBody>): Promise<Account> {
    const events: DomainEvent[] = [];
    const result = await this.db.knex.transaction(async (trx) => {
      const scope = actor.principal.scope;
      const before = await visibleAccount(trx, scope, id, true);
      // Readers stop here (403); a group admin may move only out of a group it holds...
      const from = await this.tenancy.groupForWrite(trx, actor.principal, before.group_id, "params.id");
      // ...and only into one it holds: any other group, or another organisation's, is not found.
      const to = await tenancyStore.findVisibleGroup(trx, scope, body.groupId);
      if (!to || to.organisation_id !== from.organisation_id) {
        throw new NotFoundError("body.groupId: no such group in the account's organisation");
      }
      if (to.id === before.group_id) return accountView(before);
      await assertGroupTakesAccounts(this.tenancy, trx, to.id, "body.groupId");

      const profileId = before.profile_id ?? to.default_profile_id;
      const profile = profileId ? await store.findProfile(trx, profileId) : undefined;
      if (!profile) {
        throw new ConflictError(
          "body.groupId: the account uses its group's default profile and the new group has none; give the group a default profile or the account a profile of its own first",
        );
      }
      const changes: Partial<AccountRow> = { group_id: to.id };
      const identityChanged = profile.sip_domain !== before.sip_domain;
      if (identityChanged) {
        await assertRealmOfOrganisation(trx, profile, to.organisation_id, "body.groupId");
        changes.sip_domain = profile.sip_domain;
        if (before.password_encrypted) {
          // HA1 hashes the realm: recompute them from the stored password.
          const password = this.cipher.decrypt(before.password_encrypted, before.id);
          Object.assign(changes, ha1Columns(before.username, profile.sip_domain, password));
        }
      }
      const row = await withConflicts(() => store.updateAccount(trx, id, changes, this.clock.now()));
      events.push({ type: "account.moved", accountId: id, groupId: to.id, previousGroupId: from.id });
      if (identityChanged) {
        events.push({
          type: "account.identityChanged",
          accountId: id,
          username: row.username,
          sipDomain: row.sip_domain,
        });
      }
      const after = accountView(row);
      await this.audit.record(trx, actor, {
        action: "account.moved",
        targetType: "account",
        targetId: id,
        organisationId: to.organisation_id,
        // Recorded under the new group: its admins and supervisors see how the account came.
        groupId: to.id,
        before: { groupId: from.id, groupName: from.name, sipDomain: before.sip_domain },
        after: { groupId: to.id, groupName: to.name, sipDomain: row.sip_domain, account: after },
      });
      return after;
    });
    await this.events.publish(events);
    return result;
  }
}
