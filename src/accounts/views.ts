import type { z } from "zod";
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
});

export function statusReason(row: AccountRow): string {
  if (row.status === "disabled") return `disabled: ${row.disabled_reason ?? "no reason given"}`;
  if (row.status === "pending_activation") {
    return "created by the wizard: it cannot register or call until the app is activated";
  }
  return row.mode === "wizard" ? "active since its activation" : `active since it was created (${row.mode})`;
}
