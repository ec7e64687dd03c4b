import type { Knex } from "knex";

export interface SnomCredentialRow {
  id: string;
  account_id: string;
  username: string;
  ha1_md5: string;
  ha1_sha256: string;
  created_at: Date;
  superseded_at: Date | null;
}

/** A credential with what decides whether it opens a settings URL: its account's MAC and state. */
export interface CredentialOfPhone extends SnomCredentialRow {
  mac_address: string | null;
  account_type: "PGSM" | "SNOM";
  account_deleted_at: Date | null;
}

/** The account a credential is made for, with the organisation its audit events belong to. */
export interface CredentialOwner {
  id: string;
  type: "PGSM" | "SNOM";
  group_id: string;
  organisation_id: string;
}

export interface SnomFetchRow {
  id: string;
  account_id: string;
  fetched_at: Date;
  address: string;
  user_agent: string | null;
  model: string | null;
  firmware: string | null;
  outcome: "settings" | "disabled";
}

/** SNOM provisioning's SQL: settings credentials and fetches (migration 20261203000200). */
export const snomStore = {
  async findCredential(db: Knex, username: string): Promise<CredentialOfPhone | undefined> {
    return db("snom_credentials as c")
      .join("accounts as a", "a.id", "c.account_id")
      .where("c.username", username)
      .first(
        "c.*",
        "a.mac_address as mac_address",
        "a.type as account_type",
        "a.deleted_at as account_deleted_at",
      );
  },

  /** The live account, locked for the rotation of its credential; undefined when deleted or unknown. */
  async lockOwner(trx: Knex.Transaction, accountId: string): Promise<CredentialOwner | undefined> {
    return trx("accounts as a")
      .join("groups as g", "g.id", "a.group_id")
      .where("a.id", accountId)
      .whereNull("a.deleted_at")
      .forUpdate("a")
      .first("a.id", "a.type", "a.group_id", "g.organisation_id");
  },

  async owners(db: Knex, accountIds: readonly string[]): Promise<CredentialOwner[]> {
    return db("accounts as a")
      .join("groups as g", "g.id", "a.group_id")
      .whereIn("a.id", accountIds)
      .select("a.id", "a.type", "a.group_id", "g.organisation_id");
  },

  /** The account's type, deleted or not; undefined for an unknown id. */
  async accountType(db: Knex, accountId: string): Promise<"PGSM" | "SNOM" | undefined> {
    const row = (await db("accounts").where({ id: accountId }).first("type")) as
      | { type: "PGSM" | "SNOM" }
      | undefined;
    return row?.type;
  },

  async insertCredentials(db: Knex, rows: SnomCredentialRow[]): Promise<void> {
    if (rows.length > 0) await db("snom_credentials").insert(rows);
  },

  /**
   * Before a rotation: the credential in use becomes the previous one (valid for the grace
   * period from now) and any older previous one is deleted, so at most two ever open the file.
   */
  async supersede(trx: Knex.Transaction, accountId: string, now: Date): Promise<void> {
    await trx("snom_credentials").where({ account_id: accountId }).whereNotNull("superseded_at").delete();
    await trx("snom_credentials")
      .where({ account_id: accountId })
      .whereNull("superseded_at")
      .update({ superseded_at: now });
  },

  async credentialsOf(db: Knex, accountId: string): Promise<SnomCredentialRow[]> {
    return db("snom_credentials")
      .where({ account_id: accountId })
      .orderBy([
        { column: "created_at", order: "desc" },
        { column: "id", order: "desc" },
      ]);
  },

  async recordFetches(db: Knex, rows: SnomFetchRow[]): Promise<void> {
    for (let i = 0; i < rows.length; i += 500) await db("snom_fetches").insert(rows.slice(i, i + 500));
  },

  async recentFetches(db: Knex, accountId: string, limit: number): Promise<SnomFetchRow[]> {
    return db("snom_fetches")
      .where({ account_id: accountId })
      .orderBy([
        { column: "fetched_at", order: "desc" },
        { column: "id", order: "desc" },
      ])
      .limit(limit);
  },
};
