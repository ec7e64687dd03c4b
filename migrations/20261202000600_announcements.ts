import type { Knex } from "knex";

/**
 * Announcements organisations upload in place of the built-in ones (issue 15): one per case and
 * language. The audio is the checked WAV file as base64 text, which PGlite stores and returns
 * faster than bytea; files are small (30 s of 8 kHz 16-bit audio is under 500 KB).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("announcements", (t) => {
    t.uuid("organisation_id").notNullable().references("organisations.id").onDelete("CASCADE");
    t.text("case").notNullable().checkIn(["caller-disabled", "callee-unavailable"], "announcements_case");
    t.text("language").notNullable();
    t.text("audio_base64").notNullable();
    t.integer("duration_ms").notNullable();
    t.timestamp("uploaded_at", { useTz: true }).notNullable();
    // The user who uploaded it, kept by id without a foreign key: the upload outlives the user.
    t.uuid("uploaded_by").nullable();
    t.primary(["organisation_id", "case", "language"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists("announcements");
}
