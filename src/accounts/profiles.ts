import type { Knex } from "knex";
import type { z } from "zod";
import type { Actor } from "../audit/actor.js";
import type { AuditService } from "../audit/service.js";
import type { Clock } from "../clock.js";
import { changedColumns, isEmptyChange } from "../db/changes.js";
import { uniqueConstraints, withConflicts } from "../db/constraints.js";
import type { Database } from "../db/database.js";
import { pageOf } from "../db/listing.js";
import { ConflictError, ValidationError } from "../errors.js";
import type { DomainEvent, DomainEvents } from "../events.js";
import { fieldErrorsOf, projectWords } from "../field-messages.js";
import type { Page } from "../http/list.js";
import { ids } from "../ids.js";
import { applyMergePatch } from "../merge-patch.js";
import type { GroupProfilePolicy } from "../tenancy/groups.js";
import type { Scope } from "../tenancy/roles.js";
import { type GroupRow, tenancyStore } from "../tenancy/store.js";
import { type CredentialCipher, ha1Columns } from "./credentials.js";
import {
  type createProfileBody,
  type profileListQuery,
  profileSettings,
  type updateProfileBody,
} from "./schemas.js";
import { type AccountRow, type ProfileRow, accountsStore as store } from "./store.js";
import { type Profile, profileView } from "./views.js";
import { assertProfileWriter, visibleProfile } from "./visibility.js";

type Input<S extends z.ZodType> = z.output<S>;

/**
 * Provisioning profiles, and the group default profile: which profile a group may default to,
 * and what its accounts do when the default changes (the policy tenancy's groups call).
 */
export class Profiles implements GroupProfilePolicy {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    private readonly cipher: CredentialCipher,
    private readonly events: DomainEvents,
  ) {}

  async list(actor: Actor, query: Input<typeof profileListQuery>): Promise<Page<Profile>> {
    return pageOf<ProfileRow, Profile>(
      store.profileList(this.db.knex, actor.principal.scope, query),
      query,
      profileView,
    );
  }

  async get(actor: Actor, id: string): Promise<Profile> {
    return profileView(await visibleProfile(this.db.knex, actor.principal.scope, id));
  }

  async create(actor: Actor, body: Input<typeof createProfileBody>): Promise<Profile> {
    assertProfileWriter(actor.principal);
    const created = await this.db.knex.transaction(async (trx) => {
      const { organisationId, name, sipDomain, serverHost, ...settings } = body;
      const visible = await tenancyStore.findVisibleOrganisation(trx, actor.principal.scope, organisationId);
      if (!visible)
        throw new ValidationError([{ path: "body.organisationId", message: "no such organisation" }]);
      await this.claimSipDomain(trx, actor, organisationId, sipDomain);
      const row = await withConflicts(() =>
        store.insertProfile(
          trx,
          {
            id: ids.uuid(),
            organisation_id: organisationId,
            name,
            sip_domain: sipDomain,
            server_host: serverHost,
            settings: profileSettings.parse(settings),
          },
          this.clock.now(),
        ),
      );
      const after = profileView(row);
      await this.audit.record(trx, actor, {
        action: "profile.created",
        targetType: "profile",
        targetId: row.id,
        organisationId,
        after,
      });
      return after;
    });
    await this.events.publish([{ type: "profile.changed", profileId: created.id }]);
    return created;
  }

  /**
   * A merge patch (RFC 7396): what is left out keeps its value, null resets a setting to its
   * default, nested settings merge. A patch that changes nothing writes nothing and audits nothing.
   */
  async update(actor: Actor, id: string, body: Input<typeof updateProfileBody>): Promise<Profile> {
    assertProfileWriter(actor.principal);
    const events: DomainEvent[] = [];
    const result = await this.db.knex.transaction(async (trx) => {
      const before = await visibleProfile(trx, actor.principal.scope, id, true);
      const { name, sipDomain, serverHost, ...settingsPatch } = body;
      const merged = profileSettings.safeParse(applyMergePatch(before.settings, settingsPatch), {
        error: projectWords,
      });
      if (!merged.success) throw new ValidationError(fieldErrorsOf(merged.error.issues, "body"));
      const changes = changedColumns(before, {
        ...(name !== undefined ? { name } : {}),
        ...(sipDomain !== undefined ? { sip_domain: sipDomain } : {}),
        ...(serverHost !== undefined ? { server_host: serverHost } : {}),
        settings: merged.data,
      });
      if (isEmptyChange(changes)) return profileView(before);
      if (changes.sip_domain !== undefined) {
        await this.claimSipDomain(trx, actor, before.organisation_id, changes.sip_domain);
      }
      const row = await withConflicts(async () => {
        const updated = await store.updateProfile(trx, id, changes, this.clock.now());
        if (changes.sip_domain !== undefined) {
          await this.rehomeAccounts(trx, await store.refreshSipDomains(trx, { profileId: id }), events);
        }
        return updated;
      });
      const after = profileView(row);
      await this.audit.record(trx, actor, {
        action: "profile.updated",
        targetType: "profile",
        targetId: id,
        organisationId: row.organisation_id,
        before: profileView(before),
        after,
      });
      events.push({ type: "profile.changed", profileId: id });
      return after;
    });
    // The realm's digest algorithms may have changed with the settings or the SIP domain.
    await this.events.publish([...events, { type: "profile.changed", profileId: id }]);
    return result;
  }

  /**
   * A profile uses only its organisation's SIP domains. An operator's profile with a domain no
   * organisation has yet assigns it to the profile's organisation (the operator assigns domains);
   * anyone else gets the same 400 for a free domain and another tenant's, so nothing leaks.
   */
  private async claimSipDomain(trx: Knex, actor: Actor, organisationId: string, sipDomain: string) {
    const owner = await tenancyStore.sipDomainOwner(trx, sipDomain);
    if (owner === organisationId) return;
    if (actor.principal.role !== "operator") {
      throw new ValidationError([
        {
          path: "body.sipDomain",
          message: "is not one of the organisation's SIP domains (an operator assigns them)",
        },
      ]);
    }
    if (owner !== undefined)
      throw new ConflictError(`body.sipDomain: ${uniqueConstraints.organisation_sip_domains_pkey}`);
    await withConflicts(() => tenancyStore.addSipDomains(trx, organisationId, [sipDomain], this.clock.now()));
    await this.audit.record(trx, actor, {
      action: "organisation.sip_domain_assigned",
      targetType: "organisation",
      targetId: organisationId,
      organisationId,
      after: { sipDomain },
    });
  }

  async delete(actor: Actor, id: string): Promise<Profile> {
    assertProfileWriter(actor.principal);
    const deleted = await this.db.knex.transaction(async (trx) => {
      const row = await visibleProfile(trx, actor.principal.scope, id, true);
      const usage = await store.profileUsage(trx, id);
      if (usage.groups > 0 || usage.accounts > 0) {
        throw new ConflictError(
          `the profile is in use: default of ${usage.groups} group(s), chosen by ${usage.accounts} account(s)`,
        );
      }
      await store.deleteProfile(trx, id);
      const before = profileView(row);
      await this.audit.record(trx, actor, {
        action: "profile.deleted",
        targetType: "profile",
        targetId: id,
        organisationId: row.organisation_id,
        before,
      });
      return before;
    });
    await this.events.publish([{ type: "profile.changed", profileId: id }]);
    return deleted;
  }

  // The group default profile

  /** Whether a profile may be this group's default: visible to the caller and of the group's organisation. */
  async assertProfileForGroup(
    db: Knex,
    scope: Scope,
    profileId: string,
    group: GroupRow,
    path: string,
  ): Promise<void> {
    const profile = await store.findVisibleProfile(db, scope, profileId);
    if (!profile || profile.organisation_id !== group.organisation_id) {
      throw new ValidationError([{ path, message: "no such profile in the group's organisation" }]);
    }
  }

  /**
   * After a group's default profile changed: its accounts without a profile of their own move to
   * the new SIP domain (new HA1s, registrations dropped by the subscribers of the events).
   */
  async followGroupDefault(trx: Knex, group: GroupRow): Promise<{ afterCommit(): Promise<void> }> {
    if (!group.default_profile_id) {
      const relying = await store.accountsRelyingOnGroupDefault(trx, group.id);
      if (relying > 0) {
        throw new ConflictError(
          `${relying} account(s) of the group use its default profile: give it another one`,
        );
      }
      return { afterCommit: async () => {} };
    }
    const events: DomainEvent[] = [];
    await this.rehomeAccounts(
      trx,
      await withConflicts(() => store.refreshSipDomains(trx, { groupId: group.id })),
      events,
    );
    return { afterCommit: () => this.events.publish(events) };
  }

  /** Accounts whose SIP domain changed get HA1s for it; the events tell the registrar. */
  private async rehomeAccounts(trx: Knex, changed: AccountRow[], events: DomainEvent[]): Promise<void> {
    for (const row of changed) {
      if (row.password_encrypted) {
        const password = this.cipher.decrypt(row.password_encrypted, row.id);
        await store.updateAccount(
          trx,
          row.id,
          ha1Columns(row.username, row.sip_domain, password),
          this.clock.now(),
        );
      }
      events.push({
        type: "account.identityChanged",
        accountId: row.id,
        username: row.username,
        sipDomain: row.sip_domain,
      });
    }
  }
}
