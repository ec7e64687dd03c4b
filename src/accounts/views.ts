import type { z } from "zod";
import { subscriptionView } from "../subscriptions/account-subscription.js";
import { iso, isoOrNull } from "../tenancy/views.js";
import type { accountSchema, profileSchema } from "./schemas.js";
import type { AccountRow, ProfileRow } from "./store.js";

export type Profile = z.input<typeof profileSchema>;
export type Account = z.input<typeof accountSchema>;

export const profileView = (row: ProfileRow): Profile => ({
  id: row.id,
  organisationId: row.organisation_id,
  name: row.name,
  sipDomain: row.sip_domain,
  serverHost: row.server_host,
  ...row.settings,
  createdAt: iso(row.created_at),
  updatedAt: iso(row.updated_at),
});

/** An account as the API shows it: never a password, an HA1 or the encrypted copy. */
export const accountView = (row: AccountRow): Account => ({
  id: row.id,
  groupId: row.group_id,
  type: row.type,
  mode: row.mode,
  status: row.status,
  disabledReason: row.disabled_reason,
  username: row.username,
  sipDomain: row.sip_domain,
  displayName: row.display_name,
  phoneNumber: row.phone_number,
  macAddress: row.mac_address,
  securityModel: row.security_model,
  keepAliveSeconds: row.keep_alive_seconds,
  profileId: row.profile_id,
  licenseKey: row.license_key,
  notes: row.notes,
  activatedAt: isoOrNull(row.activated_at),
  passwordChangedAt: isoOrNull(row.password_changed_at),
  createdAt: iso(row.created_at),
  updatedAt: iso(row.updated_at),
  subscription: subscriptionView(row),
});

/** The audit actions that change an account's status, newest of which explains it. */
export const statusChanges = ["account.disabled", "account.enabled"] as const;

/** Why the account is in its status, in words: its disable reason, or who enabled it again and when. */
export function statusReason(
  row: AccountRow,
  lastChange: { action: string; actor: string; occurredAt: string } | null,
): string {
  if (row.status === "disabled") return `disabled: ${row.disabled_reason ?? "no reason given"}`;
  const enabled =
    lastChange?.action === "account.enabled"
      ? `enabled again by ${lastChange.actor} at ${lastChange.occurredAt}`
      : null;
  if (row.status === "pending_activation") {
    const waiting = "it cannot register or call until the app is activated";
    return enabled ? `${enabled}, and never activated: ${waiting}` : `created by the wizard: ${waiting}`;
  }
  if (enabled) return `active: ${enabled}`;
  return row.mode === "wizard" ? "active since its activation" : `active since it was created (${row.mode})`;
}
