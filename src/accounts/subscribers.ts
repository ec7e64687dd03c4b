import type { Actor } from "../audit/actor.js";
import type { AuditService } from "../audit/service.js";
import type { Database } from "../db/database.js";
import type { TenancyService } from "../tenancy/service.js";
import { type InactiveTenant, tenancyStore } from "../tenancy/store.js";
import type { InactiveTenants } from "./inactive-tenants.js";
import type { ProfileSettings } from "./schemas.js";
import { type AccountRow, accountsStore as store } from "./store.js";
import { profileInEffect, visibleAccount } from "./visibility.js";

/** What of tenancy the accounts parts use: the group an actor may write in, and whether it is active. */
export type GroupAccess = Pick<TenancyService, "groupForWrite" | "inactiveTenantOfGroup">;

export interface SipSubscriber {
  accountId: string;
  groupId: string;
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

/** Why an account that is fine on its own does not work, in the words a client is told. */
export const inactiveTenantReason = {
  organisation: "its organisation is inactive",
  group: "its group is inactive",
} as const;

/**
 * The account as SIP and licensing must treat it: disabled while its organisation or a group it
 * is under is inactive. The account's own status is left alone, so reactivating the organisation
 * or group restores exactly what was there (an account disabled on its own stays disabled).
 */
const sipSubscriber = (row: AccountRow & { inactive_tenant: InactiveTenant }): SipSubscriber => {
  const own = row.status === "disabled";
  const inactive = row.inactive_tenant;
  return {
    accountId: row.id,
    groupId: row.group_id,
    username: row.username,
    sipDomain: row.sip_domain,
    status: inactive ? "disabled" : row.status,
    disabledReason: own || !inactive ? row.disabled_reason : inactiveTenantReason[inactive],
    ha1Md5: row.ha1_md5,
    ha1Sha256: row.ha1_sha256,
  };
};

/** What messaging needs to write to an account's owner: number, kind, language, app links, organisation. */
export interface MessagingContext {
  accountId: string;
  type: AccountRow["type"];
  status: AccountRow["status"];
  phoneNumber: string | null;
  groupId: string;
  organisationId: string;
  organisationName: string;
  language: string;
  appLinks: { ios: string | null; android: string | null };
}

/** What other capabilities (the registrar, the license proxy) read of an account and do to it. */
export class Subscribers {
  constructor(
    private readonly db: Database,
    private readonly tenancy: GroupAccess,
    private readonly audit: AuditService,
    private readonly inactiveTenants: InactiveTenants,
  ) {}

  /** The credentials the registrar and the license proxy check a client against; null for unknown or deleted. */
  async findSipSubscriber(username: string, sipDomain: string): Promise<SipSubscriber | null> {
    const row = await store.findLiveAccount(this.db.knex, { username, sip_domain: sipDomain });
    return row
      ? sipSubscriber({ ...row, inactive_tenant: await this.inactiveTenants.of(row.group_id) })
      : null;
  }

  /** The live accounts an organisation or group change concerns (the registrar drops their bindings). */
  accountIdsIn(where: { organisationId: string } | { groupId: string }): Promise<string[]> {
    return store.liveAccountIdsIn(this.db.knex, where);
  }

  /** The digest algorithms a SIP domain's profile accepts; null when no profile names the domain. */
  async realmOf(sipDomain: string): Promise<{ digestAlgorithms: Array<"MD5" | "SHA-256"> } | null> {
    const settings = await store.profileSettingsOfDomain(this.db.knex, sipDomain);
    if (!settings) return null;
    // Profiles written before the setting existed have the default.
    return { digestAlgorithms: settings.digestAlgorithms ?? ["MD5"] };
  }

  /** The language the server's announcements to this account are played in (its profile's). */
  async announcementLanguage(accountId: string): Promise<ProfileSettings["announcementLanguage"] | null> {
    const row = await store.findLiveAccount(this.db.knex, { id: accountId });
    if (!row) return null;
    return (await profileInEffect(this.db.knex, row)).settings.announcementLanguage;
  }

  /** What the license proxy needs to answer a client. */
  async licenseContext(accountId: string): Promise<LicenseContext | null> {
    const row = await store.findLiveAccount(this.db.knex, { id: accountId });
    if (!row) return null;
    const profile = await profileInEffect(this.db.knex, row);
    return {
      accountId: row.id,
      licenseKey: row.license_key,
      licenseMode: profile.settings.licenseMode,
      status: row.status,
      sipDomain: row.sip_domain,
    };
  }

  /** An account as messaging writes to it; null for unknown or deleted. */
  async messagingContext(accountId: string): Promise<MessagingContext | null> {
    const row = await store.findLiveAccount(this.db.knex, { id: accountId });
    if (!row) return null;
    const profile = await profileInEffect(this.db.knex, row);
    const organisation = await tenancyStore.findVisibleOrganisation(
      this.db.knex,
      { kind: "all" },
      profile.organisation_id,
    );
    return {
      accountId: row.id,
      type: row.type,
      status: row.status,
      phoneNumber: row.phone_number,
      groupId: row.group_id,
      organisationId: profile.organisation_id,
      organisationName: organisation?.name ?? "",
      language: profile.settings.announcementLanguage,
      appLinks: profile.settings.appLinks,
    };
  }

  /** NotFound unless the actor may see the account. */
  async assertAccountVisible(actor: Actor, accountId: string): Promise<void> {
    await visibleAccount(this.db.knex, actor.principal.scope, accountId);
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
    const row = await store.findLiveAccount(this.db.knex, { id: accountId });
    if (!row) return;
    const group = await tenancyStore.findGroup(this.db.knex, row.group_id);
    await this.audit.record(this.db.knex, actor, {
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
    const row = await visibleAccount(this.db.knex, actor.principal.scope, accountId);
    await this.tenancy.groupForWrite(this.db.knex, actor.principal, row.group_id, "params.id");
  }
}
