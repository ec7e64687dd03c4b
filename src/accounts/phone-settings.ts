import type { Database } from "../db/database.js";
import type { CredentialCipher } from "./credentials.js";
import type { InactiveTenants } from "./inactive-tenants.js";
import { type ProfileSettings, profileSettings } from "./schemas.js";
import { accountsStore as store } from "./store.js";
import { inactiveTenantReason } from "./subscribers.js";

/** What a desk phone's settings file is written from: the account, its profile, its clear password. */
export interface PhoneSettingsContext {
  accountId: string;
  type: "PGSM" | "SNOM";
  username: string;
  sipDomain: string;
  displayName: string | null;
  macAddress: string | null;
  /** As SIP treats the account: disabled while its organisation or a group above it is inactive. */
  status: "pending_activation" | "active" | "disabled";
  disabledReason: string | null;
  /** The SIP password from its encrypted copy; null when the account has none. */
  password: string | null;
  serverHost: string;
  settings: ProfileSettings;
}

/**
 * The read side of the accounts for formats that need the SIP password itself (the SNOM settings
 * XML): the only place outside the account's own writes that decrypts the stored copy.
 */
export class PhoneSettings {
  constructor(
    private readonly db: Database,
    private readonly cipher: CredentialCipher,
    private readonly inactiveTenants: InactiveTenants,
  ) {}

  /** The live account's settings context; null for an unknown or deleted account. */
  async of(accountId: string): Promise<PhoneSettingsContext | null> {
    // One query for the account and its profile: phones fetch this at boot, a whole fleet at once.
    const row = await store.findLiveAccountWithProfile(this.db.knex, accountId);
    if (!row) return null;
    const inactive = await this.inactiveTenants.of(row.group_id);
    const own = row.status === "disabled";
    return {
      accountId: row.id,
      type: row.type,
      username: row.username,
      sipDomain: row.sip_domain,
      displayName: row.display_name,
      macAddress: row.mac_address,
      status: inactive ? "disabled" : row.status,
      disabledReason: own || !inactive ? row.disabled_reason : inactiveTenantReason[inactive],
      password: row.password_encrypted ? this.cipher.decrypt(row.password_encrypted, row.id) : null,
      serverHost: row.profile_server_host,
      settings: withDefaults(row.profile_settings as ProfileSettings | string),
    };
  }
}

/** A profile written before a setting existed reads with that setting's default. */
function withDefaults(stored: ProfileSettings | string): ProfileSettings {
  const parsed = profileSettings.safeParse(typeof stored === "string" ? JSON.parse(stored) : stored);
  return parsed.success ? parsed.data : (stored as ProfileSettings);
}
