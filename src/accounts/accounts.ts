import type { Knex } from "knex";
import type { z } from "zod";
import type { Actor } from "../audit/actor.js";
import type { auditEventListQuery } from "../audit/schemas.js";
import type { AuditService } from "../audit/service.js";
import type { AuditEvent } from "../audit/views.js";
import type { Clock } from "../clock.js";
import { changedColumns, isEmptyChange } from "../db/changes.js";
import { withConflicts } from "../db/constraints.js";
import type { Database } from "../db/database.js";
import { allOf, pageOf } from "../db/listing.js";
import { ConflictError, ForbiddenError, ValidationError } from "../errors.js";
import type { DomainEvent, DomainEvents } from "../events.js";
import type { Page } from "../http/list.js";
import { dayFromColumn, dayOf } from "../subscriptions/periods.js";
import { choosePlan } from "../subscriptions/plan-choice.js";
import { type CredentialCipher, generatePassword, ha1Columns } from "./credentials.js";
import { assertGroupTakesAccounts } from "./group-activity.js";
import type {
  accountExportQuery,
  accountListQuery,
  disableAccountBody,
  resetPasswordBody,
  updateAccountBody,
} from "./schemas.js";
import { type AccountRow, accountsStore as store } from "./store.js";
import type { GroupAccess } from "./subscribers.js";
import { assertRealmOfOrganisation } from "./tenant-domains.js";
import { type Account, accountView } from "./views.js";
import { resolveProfile, visibleAccount } from "./visibility.js";

type Input<S extends z.ZodType> = z.output<S>;
export type ExportedAccount = Account & { groupReference: string | null };
type AuditEventQuery = Omit<Input<typeof auditEventListQuery>, "targetType" | "targetId">;

/** Accounts once they exist: lists, changes, passwords, status, deletion (creation: create-accounts.ts). */
export class Accounts {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly tenancy: GroupAccess,
    private readonly cipher: CredentialCipher,
    private readonly events: DomainEvents,
    private readonly audit: AuditService,
  ) {}

  async list(actor: Actor, query: Input<typeof accountListQuery>): Promise<Page<Account>> {
    return pageOf<AccountRow, Account>(
      store.accountList(this.db.knex, actor.principal.scope, query),
      query,
      accountView,
    );
  }

  /** Every matching account, with its group's reference so an edited export imports again. */
  export(actor: Actor, query: Input<typeof accountExportQuery>): AsyncIterable<ExportedAccount> {
    return allOf<AccountRow & { group_reference: string | null }, ExportedAccount>(
      store.accountExport(this.db.knex, actor.principal.scope, query),
      "accounts.id",
      (row) => ({ ...accountView(row), groupReference: row.group_reference }),
    );
  }

  /** The audit trail of one account, paged like every list. */
  async listEvents(actor: Actor, id: string, query: AuditEventQuery): Promise<Page<AuditEvent>> {
    await visibleAccount(this.db.knex, actor.principal.scope, id);
    return this.audit.list(actor, { ...query, targetType: "account", targetId: id });
  }

  async update(actor: Actor, id: string, body: Input<typeof updateAccountBody>): Promise<Account> {
    const events: DomainEvent[] = [];
    const result = await this.db.knex.transaction(async (trx) => {
      const before = await visibleAccount(trx, actor.principal.scope, id, true);
      const group = await this.tenancy.groupForWrite(trx, actor.principal, before.group_id, "params.id");
      let targetGroup = group;
      if (body.groupId && body.groupId !== before.group_id) {
        targetGroup = await this.tenancy.groupForWrite(trx, actor.principal, body.groupId, "body.groupId");
        if (targetGroup.organisation_id !== group.organisation_id) {
          throw new ValidationError([
            { path: "body.groupId", message: "the group belongs to another organisation" },
          ]);
        }
        await assertGroupTakesAccounts(this.tenancy, trx, targetGroup.id, "body.groupId");
      }
      if (body.macAddress && before.type !== "SNOM") {
        throw new ValidationError([
          { path: "body.macAddress", message: "only SNOM accounts have a MAC address" },
        ]);
      }
      if (body.macAddress === null && before.type === "SNOM") {
        throw new ValidationError([
          { path: "body.macAddress", message: "a SNOM account needs its MAC address" },
        ]);
      }
      if (body.phoneNumber === null && before.status === "pending_activation") {
        throw new ValidationError([
          { path: "body.phoneNumber", message: "an account waiting for activation needs its phone number" },
        ]);
      }
      const planChanges: Partial<AccountRow> = {};
      if (body.billingPlan !== undefined || body.renewsOn !== undefined) {
        if (actor.principal.role !== "operator") {
          throw new ForbiddenError("only an operator sets billingPlan and renewsOn");
        }
        const current = { billing_plan: before.billing_plan, renews_on: dayFromColumn(before.renews_on) };
        const plan = choosePlan(current, body, before.billing_plan, dayOf(this.clock.now()), "body");
        if (Array.isArray(plan)) throw new ValidationError(plan);
        if (plan.billing_plan !== current.billing_plan || plan.renews_on !== current.renews_on) {
          Object.assign(planChanges, plan);
        }
      }
      const profileId = body.profileId !== undefined ? body.profileId : before.profile_id;
      const profile = await resolveProfile(
        trx,
        actor.principal.scope,
        targetGroup,
        profileId,
        "body.profileId",
      );
      const username = body.username ?? before.username;
      const identityChanged = username !== before.username || profile.sip_domain !== before.sip_domain;
      if (identityChanged) {
        await assertRealmOfOrganisation(trx, profile, targetGroup.organisation_id, "body.profileId");
      }
      const changes: Partial<AccountRow> = changedColumns(before, {
        group_id: targetGroup.id,
        profile_id: profileId,
        username,
        sip_domain: profile.sip_domain,
        ...(body.displayName !== undefined ? { display_name: body.displayName } : {}),
        ...(body.phoneNumber !== undefined ? { phone_number: body.phoneNumber } : {}),
        ...(body.macAddress !== undefined ? { mac_address: body.macAddress } : {}),
        ...(body.securityModel !== undefined ? { security_model: body.securityModel } : {}),
        ...(body.keepAliveSeconds !== undefined ? { keep_alive_seconds: body.keepAliveSeconds } : {}),
        ...(body.licenseKey !== undefined ? { license_key: body.licenseKey } : {}),
        ...(body.notes !== undefined ? { notes: body.notes } : {}),
      });
      Object.assign(changes, planChanges);
      // Sending what is already there changes nothing: no write, no updatedAt, no audit event.
      if (isEmptyChange(changes)) return accountView(before);
      if (identityChanged && before.password_encrypted) {
        // HA1 hashes the username and realm: recompute them from the stored password.
        const password = this.cipher.decrypt(before.password_encrypted, before.id);
        Object.assign(changes, ha1Columns(username, profile.sip_domain, password));
      }
      const row = await withConflicts(() => store.updateAccount(trx, id, changes, this.clock.now()));
      if (row.group_id !== before.group_id) {
        // The same news as POST /accounts/{id}/move: caches keep the account with its group's standing.
        events.push({
          type: "account.moved",
          accountId: id,
          groupId: row.group_id,
          previousGroupId: before.group_id,
        });
      }
      if (identityChanged) {
        events.push({
          type: "account.identityChanged",
          accountId: id,
          username,
          sipDomain: profile.sip_domain,
        });
      }
      const after = accountView(row);
      await this.auditAccount(
        trx,
        actor,
        "account.updated",
        row,
        accountView(before),
        after,
        targetGroup.organisation_id,
      );
      return after;
    });
    await this.events.publish(events);
    return result;
  }

  async resetPassword(
    actor: Actor,
    id: string,
    body: Input<typeof resetPasswordBody>,
  ): Promise<Account & { password: string }> {
    const result = await this.db.knex.transaction(async (trx) => {
      const before = await visibleAccount(trx, actor.principal.scope, id, true);
      const group = await this.tenancy.groupForWrite(trx, actor.principal, before.group_id, "params.id");
      const password = body.password ?? generatePassword();
      const row = await store.updateAccount(
        trx,
        id,
        {
          ...ha1Columns(before.username, before.sip_domain, password),
          password_encrypted: this.cipher.encrypt(password, id),
          password_changed_at: this.clock.now(),
        },
        this.clock.now(),
      );
      await this.auditAccount(
        trx,
        actor,
        "account.password_reset",
        row,
        undefined,
        undefined,
        group.organisation_id,
      );
      return { ...accountView(row), password };
    });
    await this.events.publish([{ type: "account.passwordChanged", accountId: id }]);
    return result;
  }

  async disable(actor: Actor, id: string, body: Input<typeof disableAccountBody>): Promise<Account> {
    const result = await this.changeStatus(actor, id, "account.disabled", (row) => {
      if (row.status === "disabled") throw new ConflictError("the account is already disabled");
      return { status: "disabled", disabled_reason: body.reason };
    });
    await this.events.publish([{ type: "account.disabled", accountId: id, reason: body.reason }]);
    return result;
  }

  async enable(actor: Actor, id: string): Promise<Account> {
    const result = await this.changeStatus(actor, id, "account.enabled", (row) => {
      if (row.status !== "disabled")
        throw new ConflictError(`the account is not disabled (it is ${row.status})`);
      // An account the wizard made and nobody activated goes back to waiting for activation.
      return { status: row.activated_at ? "active" : "pending_activation", disabled_reason: null };
    });
    await this.events.publish([{ type: "account.enabled", accountId: id }]);
    return result;
  }

  async delete(actor: Actor, id: string): Promise<Account> {
    const result = await this.db.knex.transaction(async (trx) => {
      const before = await visibleAccount(trx, actor.principal.scope, id, true);
      const group = await this.tenancy.groupForWrite(trx, actor.principal, before.group_id, "params.id");
      const now = this.clock.now();
      // Gone from lists, its credentials purged; the row stays for the audit trail's sake.
      await store.updateAccount(
        trx,
        id,
        { deleted_at: now, ha1_md5: null, ha1_sha256: null, password_encrypted: null, profile_id: null },
        now,
      );
      const view = accountView(before);
      await this.auditAccount(trx, actor, "account.deleted", before, view, undefined, group.organisation_id);
      return view;
    });
    await this.events.publish([{ type: "account.deleted", accountId: id }]);
    return result;
  }

  private async changeStatus(
    actor: Actor,
    id: string,
    action: string,
    decide: (row: AccountRow) => Partial<AccountRow>,
  ): Promise<Account> {
    return this.db.knex.transaction(async (trx) => {
      const before = await visibleAccount(trx, actor.principal.scope, id, true);
      const group = await this.tenancy.groupForWrite(trx, actor.principal, before.group_id, "params.id");
      const row = await store.updateAccount(trx, id, decide(before), this.clock.now());
      const after = accountView(row);
      await this.auditAccount(trx, actor, action, row, accountView(before), after, group.organisation_id);
      return after;
    });
  }

  private async auditAccount(
    trx: Knex,
    actor: Actor,
    action: string,
    row: AccountRow,
    before: Account | undefined,
    after: Account | undefined,
    organisationId: string | null,
  ): Promise<void> {
    await this.audit.record(trx, actor, {
      action,
      targetType: "account",
      targetId: row.id,
      organisationId,
      groupId: row.group_id,
      ...(before ? { before } : {}),
      ...(after ? { after } : {}),
    });
  }
}
