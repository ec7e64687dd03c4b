import type { Knex } from "knex";

/**
 * Messaging on top of the outbox: what was rendered and handed to which gateway, the status
 * history operators watch, installation-link clicks, per-organisation template overrides and
 * activation tokens (only their SHA-256).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("outbox_messages", (t) => {
    // Rendered when the action queued it (SMS: so its length is checked before queueing); null
    // for drafts of other capabilities, rendered from the template of their kind at delivery.
    t.text("subject").nullable();
    t.text("text").nullable();
    t.text("encoding").nullable(); // GSM-7 | UCS-2 for SMS
    t.integer("segments").nullable();
    t.text("gateway").nullable();
    t.text("gateway_message_id").nullable();
    // While a worker hands the message over; past it, another worker may take the message again.
    t.timestamp("lease_until", { useTz: true }).nullable();
    t.timestamp("sent_at", { useTz: true }).nullable();
    t.timestamp("delivered_at", { useTz: true }).nullable();
    // Installation links: /i/{code}, and the last click on it.
    t.text("link_code").nullable().unique();
    t.timestamp("clicked_at", { useTz: true }).nullable();
    t.text("click_platform").nullable();
    t.text("click_user_agent").nullable();
    t.index(["gateway", "gateway_message_id"]);
  });
  await knex.schema.createTable("outbox_status_history", (t) => {
    t.bigIncrements("id").primary();
    t.uuid("message_id").notNullable().references("id").inTable("outbox_messages").onDelete("CASCADE");
    t.text("status").notNullable();
    t.text("detail").nullable();
    t.timestamp("occurred_at", { useTz: true }).notNullable();
    t.index(["message_id", "id"]);
  });
  await knex.schema.createTable("message_templates", (t) => {
    t.uuid("organisation_id").notNullable().references("id").inTable("organisations").onDelete("CASCADE");
    t.text("kind").notNullable();
    t.text("language").notNullable();
    t.text("subject").nullable();
    t.text("body").notNullable();
    t.timestamp("updated_at", { useTz: true }).notNullable();
    t.primary(["organisation_id", "kind", "language"]);
  });
  await knex.schema.createTable("activation_tokens", (t) => {
    t.uuid("id").primary();
    t.uuid("account_id").notNullable().references("id").inTable("accounts").onDelete("CASCADE");
    t.text("token_sha256").notNullable().unique();
    t.timestamp("created_at", { useTz: true }).notNullable();
    t.timestamp("expires_at", { useTz: true }).notNullable();
    // Set when a newer token replaces it, or when it is used (the provisioning issue).
    t.timestamp("invalidated_at", { useTz: true }).nullable();
    t.timestamp("used_at", { useTz: true }).nullable();
    t.index(["account_id"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("activation_tokens");
  await knex.schema.dropTable("message_templates");
  await knex.schema.dropTable("outbox_status_history");
  await knex.schema.alterTable("outbox_messages", (t) => {
    t.dropIndex(["gateway", "gateway_message_id"]);
    for (const column of [
      "subject",
      "text",
      "encoding",
      "segments",
      "gateway",
      "gateway_message_id",
      "lease_until",
      "sent_at",
      "delivered_at",
      "link_code",
      "clicked_at",
      "click_platform",
      "click_user_agent",
    ]) {
      t.dropColumn(column);
    }
  });
}
