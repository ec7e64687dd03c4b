import type { Knex } from "knex";

/**
 * Call records (CDRs): one row per authenticated call attempt. Accounts and groups are kept by
 * id without foreign keys: a record outlives the account and is read through the groups that
 * exist (tenancy scopes), and the batched writer must never fail on a row deleted meanwhile.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("cdrs", (t) => {
    t.uuid("id").primary();
    t.text("call_id").notNullable();
    t.text("caller").notNullable();
    t.text("callee").notNullable();
    t.uuid("caller_account_id").nullable();
    t.uuid("callee_account_id").nullable();
    t.uuid("caller_group_id").nullable();
    t.uuid("callee_group_id").nullable();
    t.timestamp("started_at", { useTz: true }).notNullable();
    t.timestamp("answered_at", { useTz: true }).nullable();
    t.timestamp("ended_at", { useTz: true }).nullable();
    t.integer("duration_seconds").nullable();
    t.text("status").notNullable();
    t.integer("sip_status").nullable();
    t.text("ended_by").nullable();
    t.text("announcement").nullable();
    // Lists are newest first; an account's calls are looked up from either side. Group scopes
    // filter on the time order for now (indexes per group side can come when volumes ask).
    t.index(["started_at", "id"]);
    t.index(["caller_account_id", "started_at"]);
    t.index(["callee_account_id", "started_at"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("cdrs");
}
