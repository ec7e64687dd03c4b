import type { Knex } from "knex";

/**
 * SNOM provisioning (issue 14): each SNOM account's settings credential and the fetches of its
 * settings file.
 *
 * A credential is a username of its own and the two HA1s of its password under the configured
 * realm, never the password. Rotating one stamps `superseded_at` on the one it replaces, which
 * stays valid for the configured grace period; older ones are deleted. Rows outlive a deleted
 * account on purpose: its phone still authenticates and is told 404 rather than a challenge it
 * would retry for ever.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("snom_credentials", (t) => {
    t.uuid("id").primary();
    t.uuid("account_id").notNullable().references("accounts.id").onDelete("CASCADE");
    t.text("username").notNullable().unique({ indexName: "snom_credentials_username_unique" });
    t.text("ha1_md5").notNullable();
    t.text("ha1_sha256").notNullable();
    t.timestamp("created_at", { useTz: true }).notNullable();
    t.timestamp("superseded_at", { useTz: true }).nullable();
    t.index(["account_id"], "snom_credentials_account");
  });
  await knex.schema.createTable("snom_fetches", (t) => {
    t.uuid("id").primary();
    t.uuid("account_id").notNullable().references("accounts.id").onDelete("CASCADE");
    t.timestamp("fetched_at", { useTz: true }).notNullable();
    t.text("address").notNullable();
    t.text("user_agent").nullable();
    t.text("model").nullable();
    t.text("firmware").nullable();
    // What the phone was given: working settings, or the disabled file without credentials.
    t.text("outcome").notNullable().checkIn(["settings", "disabled"], "snom_fetches_outcome");
    t.index(["account_id", "fetched_at"], "snom_fetches_account_time");
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists("snom_fetches");
  await knex.schema.dropTableIfExists("snom_credentials");
}
