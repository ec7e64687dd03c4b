import type { Knex } from "knex";

/**
 * The outbox: every SMS and e-mail an action causes, written in the action's own transaction.
 * Delivery (the job queue and the gateways) reads these rows; a row is never deleted by
 * delivery, so a crash or a queue outage loses nothing and the account's messages show it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("outbox_messages", (t) => {
    t.uuid("id").primary();
    t.text("channel").notNullable(); // sms | email
    // What the message is for, in the operators' words: installation_sms, activation_sms, duress_alert, ...
    t.text("kind").notNullable();
    t.text("recipient").notNullable();
    t.text("language").notNullable().defaultTo("en");
    // What the template needs (names, links, expiry); rendering belongs to messaging.
    t.jsonb("variables").notNullable().defaultTo("{}");
    t.uuid("organisation_id").nullable().references("id").inTable("organisations").onDelete("SET NULL");
    // No foreign key: a message outlives the account it was about (audit, delivery receipts).
    t.uuid("account_id").nullable();
    // The key a gateway can deduplicate on: a message is handed over at least once.
    t.text("idempotency_key").notNullable().unique();
    t.text("status").notNullable().defaultTo("queued"); // queued | sending | sent | delivered | failed
    t.integer("attempts").notNullable().defaultTo(0);
    t.timestamp("next_attempt_at", { useTz: true }).notNullable();
    t.text("last_error").nullable();
    t.timestamp("created_at", { useTz: true }).notNullable();
    t.timestamp("updated_at", { useTz: true }).notNullable();
    t.index(["status", "next_attempt_at"]);
    t.index(["account_id", "created_at"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("outbox_messages");
}
