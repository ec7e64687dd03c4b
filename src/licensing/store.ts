import type { Knex } from "knex";
import type { VendorLicense } from "./schemas.js";

/** The last verified vendor answer for one license key and device fingerprint. */
export interface LicenseCheck {
  licenseKey: string;
  fingerprint: string;
  accountId: string | null;
  valid: boolean;
  /** The vendor's code: one of vendorCodes, or one it added since. */
  code: string;
  detail: string | null;
  license: VendorLicense | null;
  checkedAt: Date;
  ttlSeconds: number;
  lastFailureAt: Date | null;
  lastFailure: string | null;
}

interface LicenseCheckRow {
  license_key: string;
  fingerprint: string;
  account_id: string | null;
  valid: boolean;
  code: string;
  detail: string | null;
  license: VendorLicense | null;
  checked_at: Date;
  ttl_seconds: number;
  last_failure_at: Date | null;
  last_failure: string | null;
}

function fromRow(row: LicenseCheckRow): LicenseCheck {
  return {
    licenseKey: row.license_key,
    fingerprint: row.fingerprint,
    accountId: row.account_id,
    valid: row.valid,
    code: row.code,
    detail: row.detail,
    license: typeof row.license === "string" ? (JSON.parse(row.license) as VendorLicense) : row.license,
    checkedAt: new Date(row.checked_at),
    ttlSeconds: row.ttl_seconds,
    lastFailureAt: row.last_failure_at ? new Date(row.last_failure_at) : null,
    lastFailure: row.last_failure,
  };
}

export interface SigningKeyRow {
  private_key_pem: string;
  public_key_pem: string;
}

/** License checks and the server's signing key, in SQL. */
export const licenseStore = {
  async find(db: Knex, licenseKey: string, fingerprint: string): Promise<LicenseCheck | null> {
    const row = (await db("license_checks").where({ license_key: licenseKey, fingerprint }).first()) as
      | LicenseCheckRow
      | undefined;
    return row ? fromRow(row) : null;
  },

  /** The check of this account that reached the vendor last. */
  async latestForAccount(db: Knex, accountId: string, licenseKey: string): Promise<LicenseCheck | null> {
    const row = (await db("license_checks")
      .where({ account_id: accountId, license_key: licenseKey })
      .orderBy("checked_at", "desc")
      .first()) as LicenseCheckRow | undefined;
    return row ? fromRow(row) : null;
  },

  async save(db: Knex, check: LicenseCheck, now: Date): Promise<void> {
    await db("license_checks")
      .insert({
        license_key: check.licenseKey,
        fingerprint: check.fingerprint,
        account_id: check.accountId,
        valid: check.valid,
        code: check.code,
        detail: check.detail,
        license: check.license ? JSON.stringify(check.license) : null,
        checked_at: check.checkedAt,
        ttl_seconds: check.ttlSeconds,
        last_failure_at: check.lastFailureAt,
        last_failure: check.lastFailure,
        updated_at: now,
      })
      .onConflict(["license_key", "fingerprint"])
      .merge();
  },

  /** Remembers a failed attempt on the stored answer, leaving the answer itself untouched. */
  async recordFailure(
    db: Knex,
    licenseKey: string,
    fingerprint: string,
    failure: string,
    at: Date,
  ): Promise<void> {
    await db("license_checks")
      .where({ license_key: licenseKey, fingerprint })
      .update({ last_failure_at: at, last_failure: failure, updated_at: at });
  },

  async signingKey(db: Knex): Promise<SigningKeyRow | null> {
    const row = (await db("license_signing_keys").where({ name: "envelope" }).first()) as
      | SigningKeyRow
      | undefined;
    return row ?? null;
  },

  /** Stores a key unless another process stored one first; either way answers the key in effect. */
  async saveSigningKeyOnce(db: Knex, key: SigningKeyRow, now: Date): Promise<SigningKeyRow> {
    await db("license_signing_keys")
      .insert({ name: "envelope", ...key, created_at: now })
      .onConflict("name")
      .ignore();
    const stored = await licenseStore.signingKey(db);
    if (!stored) throw new Error("the license signing key was not stored");
    return stored;
  },
};
