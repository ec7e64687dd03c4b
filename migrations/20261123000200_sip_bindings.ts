import type { Knex } from "knex";

/**
 * SIP location bindings (the registrar's contacts per account) and the SIP stack's shared
 * secrets. Bindings live in the database so that every provisiond node can route to any
 * registered client; node_id and flow_id say which node holds the client's connection.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("sip_bindings", (t) => {
    t.uuid("id").primary();
    t.uuid("account_id").notNullable().references("accounts.id").onDelete("CASCADE");
    /** The address-of-record, username@sip-domain. */
    t.text("aor").notNullable();
    /** The Contact URI as the client sent it. */
    t.text("contact").notNullable();
    t.double("q").nullable();
    t.timestamp("expires_at", { useTz: true }).notNullable();
    t.text("call_id").notNullable();
    t.integer("cseq").notNullable();
    t.text("transport").notNullable();
    t.text("source_address").notNullable();
    t.integer("source_port").notNullable();
    t.text("local_address").notNullable();
    t.integer("local_port").notNullable();
    t.text("flow_id").nullable();
    t.text("node_id").notNullable();
    t.text("user_agent").nullable();
    t.text("instance_id").nullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(["account_id", "contact"], { indexName: "sip_bindings_account_contact_unique" });
    t.index(["expires_at"]);
  });
  await knex.schema.createTable("sip_secrets", (t) => {
    t.text("name").primary();
    t.text("value").notNullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("sip_secrets");
  await knex.schema.dropTable("sip_bindings");
}
