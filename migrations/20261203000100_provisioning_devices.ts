import type { Knex } from "knex";

/**
 * PGSM automatic activation (issue 14): the device an account was activated on, and every
 * activation attempt (the account details show the last ones; failures are security events).
 */
export async function up(knex: Knex): Promise<void> {
  // One device per account: re-provisioning replaces it (the audit trail keeps the history).
  await knex.schema.createTable("provisioning_devices", (t) => {
    t.uuid("account_id").primary().references("id").inTable("accounts").onDelete("CASCADE");
    t.text("platform").notNullable();
    t.text("model").notNullable();
    t.text("os_version").notNullable();
    t.text("app_version").notNullable();
    t.text("push_token").nullable();
    t.timestamp("activated_at", { useTz: true }).notNullable();
    // What a repeated POST (same CSR, within the replay window) is answered from: the token it
    // consumed, the CSR's SHA-256 and the document without the password (that is read back from
    // the account's encrypted copy, never stored here).
    t.uuid("activation_token_id").notNullable();
    t.text("csr_sha256").notNullable();
    t.text("certificate_serial").notNullable();
    t.jsonb("document").notNullable();
  });
  await knex.schema.createTable("activation_attempts", (t) => {
    // A sequence rather than a UUID: attempts in the same millisecond keep their order.
    t.bigIncrements("id").primary();
    // Null for a token nobody knows: the attempt still counts for its address.
    t.uuid("account_id").nullable().references("id").inTable("accounts").onDelete("CASCADE");
    t.uuid("activation_token_id").nullable();
    t.timestamp("occurred_at", { useTz: true }).notNullable();
    t.text("method").notNullable();
    t.text("address").notNullable();
    t.text("outcome").notNullable();
    t.text("detail").nullable();
    t.index(["account_id", "occurred_at"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists("activation_attempts");
  await knex.schema.dropTableIfExists("provisioning_devices");
}
