import type { Knex } from "knex";

/**
 * The certificate authority's records: every certificate it issued (accounts' keys from CSRs and
 * the server's own TLS certificate) with its revocation, and the current CRL. The CA's key is
 * not here: it lives encrypted in pki.dir.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("certificates", (t) => {
    t.uuid("id").primary();
    // No foreign key: a deleted account's row goes with its group, its certificates stay in the CRL.
    t.uuid("account_id").nullable();
    t.text("kind").notNullable(); // account | server
    // Hex, lowercase, no leading zeros: what the CRL lists and openssl prints.
    t.text("serial").notNullable().unique();
    t.text("fingerprint").notNullable();
    t.text("subject").notNullable();
    t.text("subject_alt_name").notNullable();
    t.text("key_type").notNullable();
    t.timestamp("not_before", { useTz: true }).notNullable();
    t.timestamp("not_after", { useTz: true }).notNullable();
    t.text("pem").notNullable();
    // Why it was issued: initial | pin_enabled | pin_disabled | duress | activation | server
    t.text("issued_reason").notNullable();
    t.timestamp("revoked_at", { useTz: true }).nullable();
    t.text("revocation_reason").nullable();
    t.timestamp("created_at", { useTz: true }).notNullable();
    t.index(["account_id", "not_after"]);
  });
  await knex.raw(
    "create index certificates_revoked on certificates (not_after) include (serial, revoked_at, revocation_reason) where revoked_at is not null",
  );

  // One row: the CRL every process serves. Its number only grows (RFC 5280 section 5.2.3).
  await knex.schema.createTable("pki_crl", (t) => {
    t.integer("id").primary();
    t.bigInteger("number").notNullable();
    t.timestamp("this_update", { useTz: true }).notNullable();
    t.timestamp("next_update", { useTz: true }).notNullable();
    t.text("ca_fingerprint").notNullable();
    // Base64 text rather than bytea: a 5 MB CRL (100,000 entries) is written and read about ten
    // times faster that way through the drivers, PGlite's especially.
    t.text("der_base64").notNullable();
    t.check("id = 1", [], "pki_crl_one_row");
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("pki_crl");
  await knex.schema.dropTable("certificates");
}
