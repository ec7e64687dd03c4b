import type { Knex } from "knex";

/** Organisations, their group tree, portal users, API tokens and the audit trail. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("organisations", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.text("name").notNullable();
    t.boolean("active").notNullable().defaultTo(true);
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw("create unique index organisations_name_unique on organisations (lower(name))");

  await knex.schema.createTable("groups", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("organisation_id").notNullable().references("organisations.id").onDelete("RESTRICT");
    t.uuid("parent_id").nullable().references("groups.id").onDelete("RESTRICT");
    t.text("name").notNullable();
    t.text("reference").nullable();
    t.text("it_email").nullable();
    t.boolean("active").notNullable().defaultTo(true);
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(["organisation_id"]);
    t.index(["parent_id"]);
    t.check("parent_id is distinct from id", [], "groups_not_own_parent");
  });

  await knex.schema.createTable("users", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.text("email").notNullable();
    t.text("name").notNullable();
    t.text("role").notNullable();
    t.uuid("organisation_id").nullable().references("organisations.id").onDelete("RESTRICT");
    t.uuid("group_id").nullable().references("groups.id").onDelete("RESTRICT");
    t.boolean("active").notNullable().defaultTo(true);
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(["organisation_id"]);
    t.index(["group_id"]);
    t.check(
      `(role = 'operator' and organisation_id is null and group_id is null)
       or (role = 'company_admin' and organisation_id is not null and group_id is null)
       or (role in ('group_admin', 'group_supervisor') and organisation_id is null and group_id is not null)`,
      [],
      "users_role_scope",
    );
  });
  await knex.raw("create unique index users_email_unique on users (lower(email))");

  await knex.schema.createTable("api_tokens", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("user_id").notNullable().references("users.id").onDelete("CASCADE");
    t.text("name").nullable();
    // SHA-256 of the token, hex: the token itself is shown once and never stored.
    t.specificType("token_hash", "char(64)").notNullable().unique();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("expires_at", { useTz: true }).nullable();
    t.timestamp("last_used_at", { useTz: true }).nullable();
    t.timestamp("revoked_at", { useTz: true }).nullable();
    t.index(["user_id"]);
  });

  await knex.schema.createTable("audit_events", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.timestamp("occurred_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    // No foreign keys: the trail outlives the users, tokens and targets it names.
    t.uuid("actor_user_id").nullable();
    t.uuid("actor_token_id").nullable();
    t.text("actor_label").notNullable();
    t.text("action").notNullable();
    t.text("target_type").notNullable();
    t.uuid("target_id").nullable();
    t.uuid("organisation_id").nullable();
    t.uuid("group_id").nullable();
    t.jsonb("before").nullable();
    t.jsonb("after").nullable();
    t.text("request_id").nullable();
    t.index(["occurred_at"]);
    t.index(["target_type", "target_id"]);
    t.index(["organisation_id", "occurred_at"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("audit_events");
  await knex.schema.dropTable("api_tokens");
  await knex.schema.dropTable("users");
  await knex.schema.dropTable("groups");
  await knex.schema.dropTable("organisations");
}
