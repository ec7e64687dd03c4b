import type { Knex } from "knex";

/**
 * When the connection a binding was registered over closed, for bindings kept after that
 * (sip.handleLostConnections = false), so that the account's registrations show it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("sip_bindings", (table) => {
    table.timestamp("connection_lost_at", { useTz: true }).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable("sip_bindings", (table) => {
    table.dropColumn("connection_lost_at");
  });
}
