import type { Knex } from "knex";

/**
 * License checks proxied to the vendor: the last verified answer per license key and device
 * fingerprint (what the proxy serves during outages and the account's details show), and the
 * server's own Ed25519 signing key when the configuration does not give one.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("license_checks", (t) => {
    t.text("license_key").notNullable();
    t.text("fingerprint").notNullable();
    // The account whose check reached the vendor last; no foreign key, a check outlives its account.
    t.uuid("account_id").nullable();
    t.boolean("valid").notNullable();
    t.text("code").notNullable();
    t.text("detail").nullable();
    // The vendor's `license` object as verified: status, expiry, entitlements, maxDevices.
    t.jsonb("license").nullable();
    // When the vendor answered (its Date header, checked against our clock) and for how long it holds.
    t.timestamp("checked_at", { useTz: true }).notNullable();
    t.integer("ttl_seconds").notNullable();
    // The last attempt that failed (outage, bad signature), so the details say why the answer is stale.
    t.timestamp("last_failure_at", { useTz: true }).nullable();
    t.text("last_failure").nullable();
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(["license_key", "fingerprint"]);
    t.index(["account_id", "checked_at"]);
  });

  await knex.schema.createTable("license_signing_keys", (t) => {
    // One row: the key every provisiond process sharing this database signs envelopes with.
    t.text("name").primary();
    t.text("private_key_pem").notNullable();
    t.text("public_key_pem").notNullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("license_signing_keys");
  await knex.schema.dropTable("license_checks");
}
