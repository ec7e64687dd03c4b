import type { Knex } from "knex";

export interface CertificateRow {
  id: string;
  account_id: string | null;
  kind: "account" | "server";
  serial: string;
  fingerprint: string;
  subject: string;
  subject_alt_name: string;
  key_type: string;
  not_before: Date;
  not_after: Date;
  pem: string;
  issued_reason: string;
  revoked_at: Date | null;
  revocation_reason: string | null;
  created_at: Date;
}

export interface CrlRow {
  id: number;
  number: string | number;
  this_update: Date;
  next_update: Date;
  ca_fingerprint: string;
  der_base64: string;
}

/** The PKI's SQL: issued certificates, their revocation, the current CRL. */
export const pkiStore = {
  async insertCertificate(db: Knex, row: CertificateRow): Promise<void> {
    await db("certificates").insert(row);
  },

  /** An account's certificates, newest first. */
  async certificatesOf(db: Knex, accountId: string): Promise<CertificateRow[]> {
    return db<CertificateRow>("certificates")
      .where({ account_id: accountId, kind: "account" })
      .orderBy([
        { column: "not_before", order: "desc" },
        { column: "serial", order: "asc" },
      ]);
  },

  /** Certificates of the account that are neither revoked nor expired at `now`, locked when asked. */
  async validCertificatesOf(
    db: Knex,
    accountId: string,
    now: Date,
    forUpdate = false,
  ): Promise<CertificateRow[]> {
    const query = db<CertificateRow>("certificates")
      .where({ account_id: accountId, kind: "account" })
      .whereNull("revoked_at")
      .where("not_before", "<=", now)
      .where("not_after", ">", now)
      .orderBy("not_before", "desc");
    return forUpdate ? query.forUpdate() : query;
  },

  /** Certificates of the account neither revoked nor expired at `now` (also not yet valid ones), locked. */
  async unrevokedCertificatesOf(db: Knex, accountId: string, now: Date): Promise<CertificateRow[]> {
    return db<CertificateRow>("certificates")
      .where({ account_id: accountId, kind: "account" })
      .whereNull("revoked_at")
      .where("not_after", ">", now)
      .forUpdate();
  },

  /** Serialises key changes of one account (two rekeys at once would both see "no valid key"). */
  async lockAccountKeys(db: Knex, accountId: string): Promise<void> {
    await db.raw("select pg_advisory_xact_lock(hashtext(?))", [`pki:${accountId}`]);
  },

  /**
   * The group and organisation of an account, deleted or not, for the audit of revoking a
   * deleted account's keys; null when it has no certificates to revoke.
   */
  async certificateOwner(
    db: Knex,
    accountId: string,
  ): Promise<{ accountId: string; groupId: string; organisationId: string } | null> {
    const row = await db("accounts")
      .join("groups", "groups.id", "accounts.group_id")
      .where("accounts.id", accountId)
      .whereExists(db("certificates").where("certificates.account_id", accountId).whereNull("revoked_at"))
      .first<{ group_id: string; organisation_id: string } | undefined>(
        "accounts.group_id",
        "groups.organisation_id",
      );
    return row ? { accountId, groupId: row.group_id, organisationId: row.organisation_id } : null;
  },

  async revoke(db: Knex, ids: readonly string[], revokedAt: Date, reason: string): Promise<CertificateRow[]> {
    if (ids.length === 0) return [];
    return db<CertificateRow>("certificates")
      .whereIn("id", ids)
      .whereNull("revoked_at")
      .update({ revoked_at: revokedAt, revocation_reason: reason })
      .returning("*");
  },

  /** Every revoked certificate a CRL at `now` must list: the ones not yet expired, in no particular order. */
  async revokedForCrl(
    db: Knex,
    now: Date,
  ): Promise<Array<{ serial: string; revoked_at: Date; revocation_reason: string | null }>> {
    // One query: paging by serial sorted 100,000 rows for nothing (a CRL's order does not matter).
    return db("certificates")
      .select("serial", "revoked_at", "revocation_reason")
      .whereNotNull("revoked_at")
      .where("not_after", ">", now);
  },

  /** The CRL's number and dates without its bytes, to tell whether the copy in memory is current. */
  async crlHead(db: Knex): Promise<Omit<CrlRow, "der_base64"> | undefined> {
    return db<CrlRow>("pki_crl")
      .select("id", "number", "this_update", "next_update", "ca_fingerprint")
      .where({ id: 1 })
      .where("number", ">", 0)
      .first();
  },

  async crl(db: Knex): Promise<CrlRow | undefined> {
    return db<CrlRow>("pki_crl").where({ id: 1 }).first();
  },

  /**
   * Takes the next CRL number, holding the CRL row until the transaction ends, so two
   * regenerations cannot publish the same number or overtake each other.
   */
  async lockNextCrlNumber(db: Knex): Promise<bigint> {
    await db.raw(
      "insert into pki_crl (id, number, this_update, next_update, ca_fingerprint, der_base64) values (1, 0, now(), now(), '', '') on conflict (id) do nothing",
    );
    const row = await db<CrlRow>("pki_crl").where({ id: 1 }).forUpdate().first();
    return BigInt(row?.number ?? 0) + 1n;
  },

  async saveCrl(db: Knex, row: Omit<CrlRow, "id">): Promise<void> {
    await db("pki_crl").where({ id: 1 }).update(row);
  },
};
