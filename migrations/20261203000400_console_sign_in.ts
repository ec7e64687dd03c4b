import type { Knex } from "knex";

/**
 * Signing in to the console (issue 17): users' password hashes, server-side sessions behind a
 * cookie, and the one-time tokens of invitation and reset links. Secrets are kept as SHA-256
 * only; a deleted user takes their password, sessions and links with them.
 */
export async function up(knex: Knex): Promise<void> {
  // Apart from users, so no `select users.*` ever carries a hash.
  await knex.schema.createTable("user_passwords", (t) => {
    t.uuid("user_id").primary().references("users.id").onDelete("CASCADE");
    // $scrypt$ln=..,r=..,p=..$salt$hash: the parameters travel with the hash, so they can be raised.
    t.text("hash").notNullable();
    t.timestamp("changed_at", { useTz: true }).notNullable();
  });

  await knex.schema.createTable("console_sessions", (t) => {
    t.uuid("id").primary();
    t.uuid("user_id").notNullable().references("users.id").onDelete("CASCADE");
    t.specificType("secret_hash", "char(64)").notNullable().unique();
    t.timestamp("created_at", { useTz: true }).notNullable();
    t.timestamp("last_seen_at", { useTz: true }).notNullable();
    // The absolute end; the idle end is last_seen_at plus the configured idle time.
    t.timestamp("expires_at", { useTz: true }).notNullable();
    t.text("address").nullable();
    t.text("user_agent").nullable();
    t.index(["user_id"]);
    t.index(["expires_at"]);
  });

  await knex.schema.createTable("password_tokens", (t) => {
    t.uuid("id").primary();
    t.uuid("user_id").notNullable().references("users.id").onDelete("CASCADE");
    t.specificType("token_hash", "char(64)").notNullable().unique();
    t.text("purpose").notNullable().checkIn(["invitation", "reset"], "password_tokens_purpose");
    t.timestamp("created_at", { useTz: true }).notNullable();
    t.timestamp("expires_at", { useTz: true }).notNullable();
    t.timestamp("used_at", { useTz: true }).nullable();
    t.index(["user_id"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists("password_tokens");
  await knex.schema.dropTableIfExists("console_sessions");
  await knex.schema.dropTableIfExists("user_passwords");
}
