import type { Knex } from "knex";
import type { z } from "zod";
import type { Clock } from "../clock.js";
import type { Database } from "../db/database.js";
import { applyListing, fetchAll, fetchPage } from "../db/listing.js";
import { ConflictError, type FieldError, ForbiddenError, NotFoundError, ValidationError } from "../errors.js";
import type { DomainEvent, DomainEvents } from "../events.js";
import { type Page, parseSort } from "../http/list.js";
import { ids } from "../ids.js";
import type { Principal, Scope } from "../tenancy/roles.js";
import type { auditEventListQuery } from "../tenancy/schemas.js";
import type { Actor, TenancyService } from "../tenancy/service.js";
import type { GroupRow } from "../tenancy/store.js";
import type { AuditEvent } from "../tenancy/views.js";
import { type CredentialCipher, generatePassword, generateUsername, sipHa1 } from "./credentials.js";
import {
  type accountExportQuery,
  type accountListQuery,
  type CreateAccountInput,
  checkTransports,
  type createProfileBody,
  type disableAccountBody,
  type profileListQuery,
  profileSettings,
  type resetPasswordBody,
  type updateAccountBody,
  type updateProfileBody,
} from "./schemas.js";
import { type AccountRow, type NewAccountRow, type ProfileRow, accountsStore as store } from "./store.js";
import { type Account, accountView, type Profile, profileView, statusReason } from "./views.js";

type Input<S extends z.ZodType> = z.output<S>;
type AuditEventQuery = Omit<Input<typeof auditEventListQuery>, "targetType" | "targetId">;

const profileWriters = ["operator", "company_admin"] as const;

interface AccountCredentials {
  username: string;
  password: string;
}

/** Accounts to create, as validated input; `path` prefixes field errors (body., rows[3].). */
export interface AccountDraft {
  path: string;
  input: CreateAccountInput;
}

function uniqueViolation(error: unknown): string | null {
  const e = error as { code?: string; constraint?: string };
  return e?.code === "23505" ? (e.constraint ?? "unique") : null;
}

const conflictMessages: Record<string, string> = {
  accounts_username_unique: "this username is taken in the SIP domain",
  accounts_phone_unique: "this phone number belongs to another account",
  accounts_mac_unique: "this MAC address belongs to another account",
  profiles_name_unique: "a profile with this name exists in the organisation",
};

async function mapConflicts<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    const constraint = uniqueViolation(error);
    if (constraint)
      throw new ConflictError(conflictMessages[constraint] ?? "conflicts with an existing record");
    throw error;
  }
}

/** Sections of the account "refresh" that other capabilities fill. */
export interface DetailSections {
  registrations: Record<string, unknown>[];
  messages: Record<string, unknown>[];
  certificates: Record<string, unknown>[];
  license: Record<string, unknown> | null;
}
export type DetailSection = keyof DetailSections;
type SectionLoader<K extends DetailSection> = (accountId: string) => Promise<DetailSections[K]>;

export interface SipSubscriber {
  accountId: string;
  username: string;
  sipDomain: string;
  status: AccountRow["status"];
  disabledReason: string | null;
  ha1Md5: string | null;
  ha1Sha256: string | null;
}

export interface LicenseContext {
  accountId: string;
  licenseKey: string | null;
  licenseMode: "proxy" | "direct";
  status: AccountRow["status"];
  sipDomain: string;
}

const sipSubscriber = (row: AccountRow): SipSubscriber => ({
  accountId: row.id,
  username: row.username,
  sipDomain: row.sip_domain,
  status: row.status,
  disabledReason: row.disabled_reason,
  ha1Md5: row.ha1_md5,
  ha1Sha256: row.ha1_sha256,
});

export class AccountService {
  private readonly detailSections: { [K in DetailSection]?: SectionLoader<K> } = {};

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly tenancy: TenancyService,
    private readonly cipher: CredentialCipher,
    private readonly events: DomainEvents,
  ) {}

  private get knex(): Knex {
    return this.db.knex;
  }

  // Profiles

  async listProfiles(actor: Actor, query: Input<typeof profileListQuery>): Promise<Page<Profile>> {
    const q = store.visibleProfiles(this.knex, actor.principal.scope);
    if (query.organisationId) q.where("profiles.organisation_id", query.organisationId);
    applyListing(q, {
      q: query.q,
      searchColumns: ["profiles.name", "profiles.sip_domain"],
      sort: parseSort(query.sort),
      sortColumns: {
        name: "profiles.name",
        sipDomain: "profiles.sip_domain",
        createdAt: "profiles.created_at",
      },
      tieBreaker: "profiles.id",
    });
    const { rows, total } = await fetchPage<ProfileRow>(q, query.page, query.pageSize);
    return { items: rows.map(profileView), page: query.page, pageSize: query.pageSize, total };
  }

  async getProfile(actor: Actor, id: string): Promise<Profile> {
    return profileView(await this.visibleProfile(this.knex, actor.principal.scope, id));
  }

  async createProfile(actor: Actor, body: Input<typeof createProfileBody>): Promise<Profile> {
    this.assertProfileWriter(actor.principal);
    return this.knex.transaction(async (trx) => {
      const { organisationId, name, sipDomain, serverHost, ...settings } = body;
      const visible = await trx("organisations")
        .where({ id: organisationId })
        .modify((q) => {
          if (actor.principal.scope.kind !== "all") q.andWhere("id", actor.principal.scope.organisationId);
        })
        .first();
      if (!visible)
        throw new ValidationError([{ path: "body.organisationId", message: "no such organisation" }]);
      const row = await mapConflicts(() =>
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
      await this.tenancy.audit(trx, actor, {
        action: "profile.created",
        targetType: "profile",
        targetId: row.id,
        organisationId,
        after,
      });
      return after;
    });
  }

  async updateProfile(actor: Actor, id: string, body: Input<typeof updateProfileBody>): Promise<Profile> {
    this.assertProfileWriter(actor.principal);
    const events: DomainEvent[] = [];
    const result = await this.knex.transaction(async (trx) => {
      const before = await this.visibleProfile(trx, actor.principal.scope, id, true);
      const { name, sipDomain, serverHost, ...settingChanges } = body as Record<string, unknown> & {
        name?: string;
        sipDomain?: string;
        serverHost?: string;
      };
      const merged = profileSettings.safeParse({ ...before.settings, ...settingChanges });
      const issues: FieldError[] = [];
      if (!merged.success) {
        for (const issue of merged.error.issues)
          issues.push({ path: ["body", ...issue.path].join("."), message: issue.message });
      } else {
        checkTransports(merged.data, {
          addIssue: (issue: { path?: PropertyKey[]; message?: string }) =>
            issues.push({
              path: ["body", ...(issue.path ?? []).map(String)].join("."),
              message: issue.message ?? "invalid",
            }),
        } as unknown as z.RefinementCtx);
      }
      if (issues.length > 0 || !merged.success) throw new ValidationError(issues);
      const row = await mapConflicts(async () => {
        const updated = await store.updateProfile(
          trx,
          id,
          {
            ...(name !== undefined ? { name } : {}),
            ...(sipDomain !== undefined ? { sip_domain: sipDomain } : {}),
            ...(serverHost !== undefined ? { server_host: serverHost } : {}),
            settings: merged.data,
          },
          this.clock.now(),
        );
        if (sipDomain !== undefined && sipDomain !== before.sip_domain) {
          await this.rehomeAccounts(trx, await store.refreshSipDomains(trx, { profileId: id }), events);
        }
        return updated;
      });
      const after = profileView(row);
      await this.tenancy.audit(trx, actor, {
        action: "profile.updated",
        targetType: "profile",
        targetId: id,
        organisationId: row.organisation_id,
        before: profileView(before),
        after,
      });
      return after;
    });
    await this.events.publish(events);
    return result;
  }

  async deleteProfile(actor: Actor, id: string): Promise<Profile> {
    this.assertProfileWriter(actor.principal);
    return this.knex.transaction(async (trx) => {
      const row = await this.visibleProfile(trx, actor.principal.scope, id, true);
      const usage = await store.profileUsage(trx, id);
      if (usage.groups > 0 || usage.accounts > 0) {
        throw new ConflictError(
          `the profile is in use: default of ${usage.groups} group(s), chosen by ${usage.accounts} account(s)`,
        );
      }
      await store.deleteProfile(trx, id);
      const before = profileView(row);
      await this.tenancy.audit(trx, actor, {
        action: "profile.deleted",
        targetType: "profile",
        targetId: id,
        organisationId: row.organisation_id,
        before,
      });
      return before;
    });
  }

  /** Whether a profile may be this group's default: visible to the caller and of the group's organisation. */
  async assertProfileForGroup(
    db: Knex,
    scope: Scope,
    profileId: string,
    group: GroupRow,
    path: string,
  ): Promise<void> {
    const profile = await store.visibleProfiles(db, scope).where("profiles.id", profileId).first();
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
      await mapConflicts(() => store.refreshSipDomains(trx, { groupId: group.id })),
      events,
    );
    return { afterCommit: () => this.events.publish(events) };
  }

  // What other capabilities read of an account

  /** Registers a section of the account "refresh" owned by another capability (registrations, license...). */
  addDetailSection<K extends DetailSection>(name: K, load: SectionLoader<K>): void {
    (this.detailSections as Record<K, SectionLoader<K>>)[name] = load;
  }

  /** The credentials the registrar and the license proxy check a client against; null for unknown or deleted. */
  async findSipSubscriber(username: string, sipDomain: string): Promise<SipSubscriber | null> {
    const row = await store.findLiveAccount(this.knex, { username, sip_domain: sipDomain });
    return row ? sipSubscriber(row) : null;
  }

  /** What the license proxy needs to answer a client. */
  async licenseContext(accountId: string): Promise<LicenseContext | null> {
    const row = await store.findLiveAccount(this.knex, { id: accountId });
    if (!row) return null;
    const profile = await this.profileInEffect(this.knex, row);
    return {
      accountId: row.id,
      licenseKey: row.license_key,
      licenseMode: profile.settings.licenseMode,
      status: row.status,
      sipDomain: row.sip_domain,
    };
  }

  /**
   * Audits an action another capability took on an account (a forced license check, a key
   * revocation), scoped like the account's own events so its group's admins see it.
   */
  async recordAccountAction(
    actor: Actor,
    accountId: string,
    action: string,
    after: Record<string, unknown>,
  ): Promise<void> {
    const row = await store.findLiveAccount(this.knex, { id: accountId });
    if (!row) return;
    const group = (await this.knex("groups").where({ id: row.group_id }).first()) as GroupRow | undefined;
    await this.tenancy.audit(this.knex, actor, {
      action,
      targetType: "account",
      targetId: accountId,
      organisationId: group?.organisation_id ?? null,
      groupId: row.group_id,
      after,
    });
  }

  /** For another capability's admin action on an account: NotFound when invisible, Forbidden for readers. */
  async assertAccountWritable(actor: Actor, accountId: string): Promise<void> {
    const row = await this.visibleAccount(this.knex, actor.principal.scope, accountId);
    await this.tenancy.groupForWrite(this.knex, actor.principal, row.group_id, "params.id");
  }

  // Accounts

  async listAccounts(actor: Actor, query: Input<typeof accountListQuery>): Promise<Page<Account>> {
    const { rows, total } = await fetchPage<AccountRow>(
      this.accountQuery(actor.principal.scope, query),
      query.page,
      query.pageSize,
    );
    return { items: rows.map(accountView), page: query.page, pageSize: query.pageSize, total };
  }

  async *exportAccounts(actor: Actor, query: Input<typeof accountExportQuery>): AsyncGenerator<Account> {
    for await (const row of fetchAll<AccountRow>(
      this.accountQuery(actor.principal.scope, query),
      "accounts.id",
    )) {
      yield accountView(row);
    }
  }

  /** The audit trail of one account, paged like every list. */
  async listAccountEvents(actor: Actor, id: string, query: AuditEventQuery): Promise<Page<AuditEvent>> {
    await this.visibleAccount(this.knex, actor.principal.scope, id);
    return this.tenancy.listAuditEvents(actor, { ...query, targetType: "account", targetId: id });
  }

  /** The account "refresh": everything an operator checks, in one view. */
  async getAccountDetails(actor: Actor, id: string) {
    const row = await this.visibleAccount(this.knex, actor.principal.scope, id);
    const profile = await this.profileInEffect(this.knex, row);
    const events = (await this.knex("audit_events")
      .where({ target_type: "account", target_id: id })
      .orderBy("occurred_at", "desc")
      .limit(20)
      .select("occurred_at", "action", "actor_label", "request_id")) as Array<{
      occurred_at: Date;
      action: string;
      actor_label: string;
      request_id: string | null;
    }>;
    const load = <K extends DetailSection>(name: K, empty: DetailSections[K]) =>
      this.detailSections[name]?.(id) ?? Promise.resolve(empty);
    const [registrations, messages, certificates, license] = await Promise.all([
      load("registrations", []),
      load("messages", []),
      load("certificates", []),
      load("license", null),
    ]);
    const sections: DetailSections = { registrations, messages, certificates, license };
    return {
      ...accountView(row),
      statusReason: statusReason(row),
      profile: profileView(profile),
      ...sections,
      recentEvents: events.map((e) => ({
        occurredAt: new Date(e.occurred_at).toISOString(),
        action: e.action,
        actor: e.actor_label,
        requestId: e.request_id,
      })),
    };
  }

  async createAccount(actor: Actor, input: CreateAccountInput): Promise<Account & { password: string }> {
    const [created] = await this.createAccounts(actor, [{ path: "body", input }], input.mode, "single");
    if (!created) throw new Error("no account created");
    return { ...accountView(created.row), password: created.password };
  }

  async importAccounts(actor: Actor, drafts: AccountDraft[]) {
    const created = await this.createAccounts(actor, drafts, "batch", "import");
    return {
      created: created.length,
      accounts: created.map(({ row, password }) => ({
        id: row.id,
        username: row.username,
        sipDomain: row.sip_domain,
        password,
      })),
    };
  }

  async updateAccount(actor: Actor, id: string, body: Input<typeof updateAccountBody>): Promise<Account> {
    const events: DomainEvent[] = [];
    const result = await this.knex.transaction(async (trx) => {
      const before = await this.visibleAccount(trx, actor.principal.scope, id, true);
      const group = await this.tenancy.groupForWrite(trx, actor.principal, before.group_id, "params.id");
      let targetGroup = group;
      if (body.groupId && body.groupId !== before.group_id) {
        targetGroup = await this.tenancy.groupForWrite(trx, actor.principal, body.groupId, "body.groupId");
        if (targetGroup.organisation_id !== group.organisation_id) {
          throw new ValidationError([
            { path: "body.groupId", message: "the group belongs to another organisation" },
          ]);
        }
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
      const profileId = body.profileId !== undefined ? body.profileId : before.profile_id;
      const profile = await this.resolveProfile(
        trx,
        actor.principal.scope,
        targetGroup,
        profileId,
        "body.profileId",
      );
      const username = body.username ?? before.username;
      const identityChanged = username !== before.username || profile.sip_domain !== before.sip_domain;
      const changes: Partial<AccountRow> = {
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
      };
      if (identityChanged && before.password_encrypted) {
        // HA1 hashes the username and realm: recompute them from the stored password.
        const password = this.cipher.decrypt(before.password_encrypted, before.id);
        Object.assign(changes, this.hashes(username, profile.sip_domain, password));
      }
      const row = await mapConflicts(() => store.updateAccount(trx, id, changes, this.clock.now()));
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
    const result = await this.knex.transaction(async (trx) => {
      const before = await this.visibleAccount(trx, actor.principal.scope, id, true);
      const group = await this.tenancy.groupForWrite(trx, actor.principal, before.group_id, "params.id");
      const password = body.password ?? generatePassword();
      const row = await store.updateAccount(
        trx,
        id,
        {
          ...this.hashes(before.username, before.sip_domain, password),
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

  async disableAccount(actor: Actor, id: string, body: Input<typeof disableAccountBody>): Promise<Account> {
    const result = await this.changeStatus(actor, id, "account.disabled", (row) => {
      if (row.status === "disabled") throw new ConflictError("the account is already disabled");
      return { status: "disabled", disabled_reason: body.reason };
    });
    await this.events.publish([{ type: "account.disabled", accountId: id, reason: body.reason }]);
    return result;
  }

  async enableAccount(actor: Actor, id: string): Promise<Account> {
    const result = await this.changeStatus(actor, id, "account.enabled", (row) => {
      if (row.status !== "disabled")
        throw new ConflictError(`the account is not disabled (it is ${row.status})`);
      // An account the wizard made and nobody activated goes back to waiting for activation.
      return { status: row.activated_at ? "active" : "pending_activation", disabled_reason: null };
    });
    await this.events.publish([{ type: "account.enabled", accountId: id }]);
    return result;
  }

  async deleteAccount(actor: Actor, id: string): Promise<Account> {
    const result = await this.knex.transaction(async (trx) => {
      const before = await this.visibleAccount(trx, actor.principal.scope, id, true);
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

  // Internals

  private async createAccounts(
    actor: Actor,
    drafts: AccountDraft[],
    mode: AccountRow["mode"],
    kind: "single" | "import",
  ): Promise<Array<{ row: AccountRow; password: string }>> {
    return this.knex.transaction(async (trx) => {
      const now = this.clock.now();
      const errors: FieldError[] = [];
      const groups = new Map<string, GroupRow | null>();
      const profiles = new Map<string, ProfileRow | null>();
      const prepared: Array<{ draft: AccountDraft; row: NewAccountRow; credentials: AccountCredentials }> =
        [];

      for (const draft of drafts) {
        const { input, path } = draft;
        const fail = (field: string, message: string) => errors.push({ path: `${path}.${field}`, message });
        let group = groups.get(input.groupId);
        if (group === undefined) {
          try {
            group = await this.tenancy.groupForWrite(trx, actor.principal, input.groupId, `${path}.groupId`);
          } catch (error) {
            if (error instanceof ValidationError) group = null;
            else throw error;
          }
          groups.set(input.groupId, group);
        }
        if (!group) {
          fail("groupId", "no such group");
          continue;
        }
        const accountMode = mode === "batch" ? "batch" : input.mode;
        if (input.type === "SNOM" && accountMode === "wizard")
          fail("mode", "SNOM accounts are created manually");
        if (input.type === "SNOM" && !input.macAddress) fail("macAddress", "required for a SNOM account");
        if (input.type === "PGSM" && input.macAddress)
          fail("macAddress", "only SNOM accounts have a MAC address");
        if (accountMode === "wizard" && !input.phoneNumber) {
          fail("phoneNumber", "required for automatic activation (wizard)");
        }
        const profileKey = input.profileId ?? `group:${group.id}`;
        let profile = profiles.get(profileKey);
        if (profile === undefined) {
          try {
            profile = await this.resolveProfile(
              trx,
              actor.principal.scope,
              group,
              input.profileId ?? null,
              `${path}.profileId`,
            );
          } catch (error) {
            if (!(error instanceof ValidationError)) throw error;
            errors.push(...error.errors);
            profile = null;
          }
          profiles.set(profileKey, profile);
        } else if (profile === null) {
          fail("profileId", "no profile in effect");
        }
        if (!profile) continue;

        const id = ids.uuid();
        const password = input.password ?? generatePassword();
        const username = input.username ?? "";
        const activated = accountMode !== "wizard";
        prepared.push({
          draft,
          credentials: { username, password },
          row: {
            id,
            group_id: group.id,
            type: input.type,
            mode: accountMode,
            status: activated ? "active" : "pending_activation",
            disabled_reason: null,
            activated_at: activated ? now : null,
            username,
            sip_domain: profile.sip_domain,
            profile_id: input.profileId ?? null,
            ha1_md5: null,
            ha1_sha256: null,
            password_encrypted: this.cipher.encrypt(password, id),
            password_changed_at: now,
            display_name: input.displayName ?? null,
            phone_number: input.phoneNumber ?? null,
            mac_address: input.macAddress ?? null,
            security_model: input.securityModel,
            keep_alive_seconds: input.keepAliveSeconds ?? null,
            license_key: input.licenseKey ?? null,
            notes: input.notes ?? null,
          },
        });
      }

      // Duplicates inside the request, then against live accounts.
      const seen = {
        usernames: new Map<string, string>(),
        phones: new Map<string, string>(),
        macs: new Map<string, string>(),
      };
      for (const { draft, row } of prepared) {
        const once = (map: Map<string, string>, key: string | null, field: string, what: string) => {
          if (!key) return;
          const first = map.get(key);
          if (first) errors.push({ path: `${draft.path}.${field}`, message: `${what} repeats ${first}` });
          else map.set(key, `${draft.path}.${field}`);
        };
        if (row.username) once(seen.usernames, `${row.username}@${row.sip_domain}`, "username", "username");
        once(seen.phones, row.phone_number, "phoneNumber", "phone number");
        once(seen.macs, row.mac_address, "macAddress", "MAC address");
      }
      const taken = await store.takenIdentifiers(trx, {
        usernames: prepared.filter((p) => p.row.username).map((p) => [p.row.sip_domain, p.row.username]),
        phoneNumbers: prepared.flatMap((p) => (p.row.phone_number ? [p.row.phone_number] : [])),
        macAddresses: prepared.flatMap((p) => (p.row.mac_address ? [p.row.mac_address] : [])),
      });
      const conflicts: FieldError[] = [];
      for (const { draft, row } of prepared) {
        if (row.username && taken.usernames.has(`${row.username}@${row.sip_domain}`)) {
          conflicts.push({
            path: `${draft.path}.username`,
            message: conflictMessages.accounts_username_unique as string,
          });
        }
        if (row.phone_number && taken.phoneNumbers.has(row.phone_number)) {
          conflicts.push({
            path: `${draft.path}.phoneNumber`,
            message: conflictMessages.accounts_phone_unique as string,
          });
        }
        if (row.mac_address && taken.macAddresses.has(row.mac_address)) {
          conflicts.push({
            path: `${draft.path}.macAddress`,
            message: conflictMessages.accounts_mac_unique as string,
          });
        }
      }
      if (errors.length > 0 || (kind === "import" && conflicts.length > 0)) {
        throw new ValidationError([...errors, ...conflicts]);
      }
      if (conflicts.length > 0)
        throw new ConflictError(conflicts.map((c) => `${c.path}: ${c.message}`).join("; "));

      await this.assignRandomUsernames(
        trx,
        prepared.map((p) => p.row),
      );
      for (const p of prepared) {
        p.credentials.username = p.row.username;
        Object.assign(p.row, this.hashes(p.row.username, p.row.sip_domain, p.credentials.password));
      }
      const rows = await mapConflicts(() =>
        store.insertAccounts(
          trx,
          prepared.map((p) => p.row),
          now,
        ),
      );
      const byId = new Map(rows.map((row) => [row.id, row]));
      const organisationOf = new Map(
        [...groups.values()].flatMap((g) => (g ? [[g.id, g.organisation_id]] : [])),
      );
      await this.tenancy.audit(
        trx,
        actor,
        ...rows.map((row) => ({
          action: "account.created",
          targetType: "account",
          targetId: row.id,
          organisationId: organisationOf.get(row.group_id) ?? null,
          groupId: row.group_id,
          after: accountView(row),
        })),
      );
      return prepared.map((p) => ({
        row: byId.get(p.row.id) as AccountRow,
        password: p.credentials.password,
      }));
    });
  }

  /** Random numeric usernames for the rows without one, free in their domain and in this batch. */
  private async assignRandomUsernames(db: Knex, rows: NewAccountRow[]): Promise<void> {
    const missing = rows.filter((row) => !row.username);
    const inBatch = new Set(rows.filter((r) => r.username).map((r) => `${r.username}@${r.sip_domain}`));
    for (let attempt = 0; missing.some((row) => !row.username) && attempt < 10; attempt++) {
      const candidates = missing
        .filter((row) => !row.username)
        .map((row) => {
          let name = generateUsername();
          while (inBatch.has(`${name}@${row.sip_domain}`)) name = generateUsername();
          return { row, name };
        });
      const taken = await store.takenIdentifiers(db, {
        usernames: candidates.map((c) => [c.row.sip_domain, c.name]),
        phoneNumbers: [],
        macAddresses: [],
      });
      for (const { row, name } of candidates) {
        const key = `${name}@${row.sip_domain}`;
        if (taken.usernames.has(key) || inBatch.has(key)) continue;
        row.username = name;
        inBatch.add(key);
      }
    }
    if (missing.some((row) => !row.username))
      throw new ConflictError("could not find a free username; give one");
  }

  private hashes(username: string, realm: string, password: string) {
    return {
      ha1_md5: sipHa1(username, realm, password, "MD5"),
      ha1_sha256: sipHa1(username, realm, password, "SHA-256"),
    };
  }

  private async changeStatus(
    actor: Actor,
    id: string,
    action: string,
    decide: (row: AccountRow) => Partial<AccountRow>,
  ): Promise<Account> {
    return this.knex.transaction(async (trx) => {
      const before = await this.visibleAccount(trx, actor.principal.scope, id, true);
      const group = await this.tenancy.groupForWrite(trx, actor.principal, before.group_id, "params.id");
      const row = await store.updateAccount(trx, id, decide(before), this.clock.now());
      const after = accountView(row);
      await this.auditAccount(trx, actor, action, row, accountView(before), after, group.organisation_id);
      return after;
    });
  }

  private async rehomeAccounts(trx: Knex, changed: AccountRow[], events: DomainEvent[]): Promise<void> {
    for (const row of changed) {
      if (row.password_encrypted) {
        const password = this.cipher.decrypt(row.password_encrypted, row.id);
        await store.updateAccount(
          trx,
          row.id,
          this.hashes(row.username, row.sip_domain, password),
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

  private async resolveProfile(
    db: Knex,
    scope: Scope,
    group: GroupRow & { default_profile_id?: string | null },
    profileId: string | null,
    path: string,
  ): Promise<ProfileRow> {
    const id = profileId ?? group.default_profile_id ?? null;
    if (!id) throw new ValidationError([{ path, message: "the group has no default profile: choose one" }]);
    const profile = (await store.visibleProfiles(db, scope).where("profiles.id", id).first()) as
      | ProfileRow
      | undefined;
    if (!profile || profile.organisation_id !== group.organisation_id) {
      throw new ValidationError([{ path, message: "no such profile in the group's organisation" }]);
    }
    return profile;
  }

  private async profileInEffect(db: Knex, row: AccountRow): Promise<ProfileRow> {
    const group = (await db("groups").where({ id: row.group_id }).first()) as {
      default_profile_id: string | null;
    };
    const id = row.profile_id ?? group.default_profile_id;
    const profile = id ? await store.findProfile(db, id) : undefined;
    if (!profile) throw new Error(`account ${row.id} has no profile in effect`);
    return profile;
  }

  private async visibleProfile(db: Knex, scope: Scope, id: string, forUpdate = false): Promise<ProfileRow> {
    const q = store.visibleProfiles(db, scope).where("profiles.id", id);
    const row = (await (forUpdate ? q.forUpdate() : q).first()) as ProfileRow | undefined;
    if (!row) throw new NotFoundError("no such profile");
    return row;
  }

  private async visibleAccount(db: Knex, scope: Scope, id: string, forUpdate = false): Promise<AccountRow> {
    const q = store.visibleAccounts(db, scope).where("accounts.id", id);
    const row = (await (forUpdate ? q.forUpdate() : q).first()) as AccountRow | undefined;
    if (!row) throw new NotFoundError("no such account");
    return row;
  }

  private assertProfileWriter(actor: Principal): void {
    if (!(profileWriters as readonly string[]).includes(actor.role)) {
      throw new ForbiddenError(`a ${actor.role} cannot change provisioning profiles`);
    }
  }

  private accountQuery(scope: Scope, query: Input<typeof accountExportQuery>): Knex.QueryBuilder {
    const q = store.visibleAccounts(this.knex, scope);
    if (query.status) q.where("accounts.status", query.status);
    if (query.type) q.where("accounts.type", query.type);
    if (query.groupId) {
      if (query.includeSubgroups)
        q.whereIn("accounts.group_id", this.tenancy.groupAndSubgroups(this.knex, query.groupId));
      else q.where("accounts.group_id", query.groupId);
    }
    if (query.organisationId) {
      q.whereIn(
        "accounts.group_id",
        this.knex("groups").select("id").where("organisation_id", query.organisationId),
      );
    }
    if (query.q) applySearch(q, query.q);
    return applyListing(q, {
      searchColumns: [],
      sort: parseSort(query.sort),
      sortColumns: {
        username: "accounts.username",
        displayName: "accounts.display_name",
        phoneNumber: "accounts.phone_number",
        status: "accounts.status",
        createdAt: "accounts.created_at",
      },
      tieBreaker: "accounts.id",
      sortAfterFiltering: query.q !== undefined,
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
    await this.tenancy.audit(trx, actor, {
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

/**
 * Search that the indexes serve: prefixes of username, phone number (digits, with or without +)
 * and MAC (any notation), and word prefixes of the display name.
 */
function applySearch(query: Knex.QueryBuilder, q: string): void {
  const escaped = q.replace(/[\\%_]/g, (c) => `\\${c}`);
  // Numbers are stored in E.164: "+41 44", "0041 44" and "4144" all look for +4144...
  const digits = q.replace(/[\s()+-]/g, "").replace(/^00/, "");
  const hex = q.replace(/[:\-.\s]/g, "").toUpperCase();
  const words = q
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean)
    .map((word) => `${word}:*`)
    .join(" & ");
  query.where((where) => {
    where.orWhere("accounts.username", "like", `${escaped}%`);
    if (/^[0-9]+$/.test(digits)) where.orWhere("accounts.phone_number", "like", `+${digits}%`);
    if (/^[0-9A-F]{2,12}$/.test(hex)) where.orWhere("accounts.mac_address", "like", `${hex}%`);
    if (words) {
      where.orWhereRaw(
        "to_tsvector('simple', coalesce(accounts.display_name, '')) @@ to_tsquery('simple', ?)",
        [words],
      );
    }
  });
}
