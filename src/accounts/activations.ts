import type { Knex } from "knex";
import type { SystemActor } from "../audit/actor.js";
import type { AuditService } from "../audit/service.js";
import type { Clock } from "../clock.js";
import type { DomainEvent } from "../events.js";
import { tenancyStore } from "../tenancy/store.js";
import { type CredentialCipher, generatePassword, ha1Columns } from "./credentials.js";
import type { ProfileSettings } from "./schemas.js";
import { type AccountRow, accountsStore as store } from "./store.js";
import { accountView } from "./views.js";
import { profileInEffect } from "./visibility.js";

/** An account as the activation of its app sees it: identity, tenancy and the profile in effect. */
export interface ActivationTarget {
  accountId: string;
  type: AccountRow["type"];
  status: AccountRow["status"];
  username: string;
  sipDomain: string;
  displayName: string | null;
  groupId: string;
  organisationId: string;
  licenseKey: string | null;
  /** The account's own keep-alive, else the profile's. */
  keepAliveSeconds: number;
  passwordChangedAt: Date | null;
  serverHost: string;
  settings: ProfileSettings;
}

/**
 * The accounts' side of PGSM activation (src/provisioning): reading the account a link belongs
 * to, and giving it a new password and the `active` status inside the activation's transaction.
 */
export class AccountActivations {
  constructor(
    private readonly clock: Clock,
    private readonly cipher: CredentialCipher,
    private readonly audit: AuditService,
  ) {}

  /** A live account by id, read in `db` (the caller's transaction); null for unknown or deleted. */
  async find(db: Knex, accountId: string): Promise<ActivationTarget | null> {
    const row = await store.findLiveAccount(db, { id: accountId });
    if (!row) return null;
    const group = await tenancyStore.findGroup(db, row.group_id);
    if (!group) return null;
    const profile = await profileInEffect(db, row);
    return {
      accountId: row.id,
      type: row.type,
      status: row.status,
      username: row.username,
      sipDomain: row.sip_domain,
      displayName: row.display_name,
      groupId: row.group_id,
      organisationId: group.organisation_id,
      licenseKey: row.license_key,
      keepAliveSeconds: row.keep_alive_seconds ?? profile.settings.keepAliveSeconds,
      passwordChangedAt: row.password_changed_at,
      serverHost: profile.server_host,
      settings: profile.settings,
    };
  }

  /**
   * A new SIP password (both HA1s and the encrypted copy) and the `active` status, audited in
   * `trx`. Answers the password, when it was set, and the domain events to publish after the
   * commit: the registrar and license proxy drop what they cached of the account.
   */
  async activate(
    trx: Knex,
    accountId: string,
    actor: SystemActor,
    details: Record<string, unknown>,
  ): Promise<{ password: string; passwordChangedAt: Date; events: DomainEvent[] }> {
    const before = await store.findLiveAccount(trx, { id: accountId });
    if (!before) throw new Error(`account ${accountId} vanished during its activation`);
    const group = await tenancyStore.findGroup(trx, before.group_id);
    const password = generatePassword();
    const now = this.clock.now();
    const row = await store.updateAccount(
      trx,
      accountId,
      {
        ...ha1Columns(before.username, before.sip_domain, password),
        password_encrypted: this.cipher.encrypt(password, accountId),
        password_changed_at: now,
        status: "active",
        activated_at: now,
      },
      now,
    );
    await this.audit.record(trx, actor, {
      action: before.status === "active" ? "account.reprovisioned" : "account.activated",
      targetType: "account",
      targetId: accountId,
      organisationId: group?.organisation_id ?? null,
      groupId: row.group_id,
      before: accountView(before),
      after: { ...accountView(row), ...details },
    });
    const events: DomainEvent[] = [{ type: "account.passwordChanged", accountId }];
    if (before.status !== "active") events.push({ type: "account.enabled", accountId });
    return { password, passwordChangedAt: now, events };
  }

  /** The account's SIP password from its encrypted copy (a repeated activation answer); null without one. */
  async currentPassword(db: Knex, accountId: string): Promise<string | null> {
    const row = await store.findLiveAccount(db, { id: accountId });
    return row?.password_encrypted ? this.cipher.decrypt(row.password_encrypted, accountId) : null;
  }
}
