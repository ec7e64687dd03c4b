import type { Knex } from "knex";

/** Provisioning profiles, each group's default profile, and SIP accounts. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("profiles", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("organisation_id").notNullable().references("organisations.id").onDelete("RESTRICT");
    t.text("name").notNullable();
    t.text("sip_domain").notNullable();
    t.text("server_host").notNullable();
    // Everything else a device is configured from; its shape is the zod schema in src/accounts/schemas.ts.
    t.jsonb("settings").notNullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(["organisation_id"]);
  });
  await knex.raw("create unique index profiles_name_unique on profiles (organisation_id, lower(name))");

  await knex.schema.alterTable("groups", (t) => {
    t.uuid("default_profile_id").nullable().references("profiles.id").onDelete("RESTRICT");
    t.index(["default_profile_id"]);
  });

  await knex.schema.createTable("accounts", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("group_id").notNullable().references("groups.id").onDelete("RESTRICT");
    t.text("type").notNullable().checkIn(["PGSM", "SNOM"], "accounts_type");
    t.text("mode").notNullable().checkIn(["manual", "wizard", "batch"], "accounts_mode");
    t.text("status").notNullable().checkIn(["pending_activation", "active", "disabled"], "accounts_status");
    t.text("disabled_reason").nullable();
    t.timestamp("activated_at", { useTz: true }).nullable();
    t.text("username").notNullable();
    // The SIP domain of the profile in effect, kept here so usernames are unique per domain.
    t.text("sip_domain").notNullable();
    t.uuid("profile_id").nullable().references("profiles.id").onDelete("RESTRICT");
    // Credentials: HA1 digests for the registrar, an AES-256-GCM copy for formats that need the password.
    t.text("ha1_md5").nullable();
    t.text("ha1_sha256").nullable();
    t.text("password_encrypted").nullable();
    t.timestamp("password_changed_at", { useTz: true }).nullable();
    t.text("display_name").nullable();
    t.text("phone_number").nullable();
    t.text("mac_address").nullable();
    t.text("security_model").notNullable().defaultTo("standard");
    t.integer("keep_alive_seconds").nullable();
    t.text("license_key").nullable();
    t.text("notes").nullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("deleted_at", { useTz: true }).nullable();
    t.index(["group_id"]);
    t.index(["profile_id"]);
    // SNOM phones have no app to activate: created manually or by import, never by the wizard.
    t.check("type = 'PGSM' or mode <> 'wizard'", [], "accounts_snom_not_wizard");
    t.check("type = 'SNOM' or mac_address is null", [], "accounts_mac_snom_only");
  });
  // A deleted account frees its username, number and MAC.
  await knex.raw(
    "create unique index accounts_username_unique on accounts (sip_domain, username) where deleted_at is null",
  );
  await knex.raw(
    "create unique index accounts_phone_unique on accounts (phone_number) where deleted_at is null",
  );
  await knex.raw(
    "create unique index accounts_mac_unique on accounts (mac_address) where deleted_at is null",
  );
  await knex.raw("create index accounts_live_created on accounts (created_at, id) where deleted_at is null");
  // The lists' default order: the first page reads 50 index entries instead of sorting every account.
  await knex.raw("create index accounts_live_username on accounts (username, id) where deleted_at is null");
  await knex.raw("create index accounts_status on accounts (status) where deleted_at is null");
  // Search must use an index at 100,000 accounts: prefixes of username, number and MAC (btree),
  // word prefixes of the display name (full-text GIN). Both are core PostgreSQL, so PGlite has them.
  for (const column of ["username", "phone_number", "mac_address"]) {
    await knex.raw(
      `create index accounts_${column}_prefix on accounts (${column} text_pattern_ops) where deleted_at is null`,
    );
  }
  await knex.raw(
    "create index accounts_display_name_words on accounts using gin (to_tsvector('simple', coalesce(display_name, ''))) where deleted_at is null",
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("accounts");
  await knex.schema.alterTable("groups", (t) => {
    t.dropColumn("default_profile_id");
  });
  await knex.schema.dropTable("profiles");
}
