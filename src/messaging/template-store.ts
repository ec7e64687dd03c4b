import type { Knex } from "knex";

export interface TemplateRow {
  organisation_id: string;
  kind: string;
  language: string;
  subject: string | null;
  body: string;
  updated_at: Date;
}

/** Per-organisation template overrides. */
export const templateStore = {
  find(db: Knex, organisationId: string, kind: string, language: string): Promise<TemplateRow | undefined> {
    return db<TemplateRow>("message_templates")
      .where({ organisation_id: organisationId, kind, language })
      .first();
  },

  ofOrganisation(db: Knex, organisationId: string): Promise<TemplateRow[]> {
    return db<TemplateRow>("message_templates")
      .where({ organisation_id: organisationId })
      .orderBy(["kind", "language"]);
  },

  async upsert(db: Knex, row: TemplateRow): Promise<void> {
    await db("message_templates")
      .insert(row)
      .onConflict(["organisation_id", "kind", "language"])
      .merge(["subject", "body", "updated_at"]);
  },

  async delete(db: Knex, organisationId: string, kind: string, language: string): Promise<number> {
    return db("message_templates").where({ organisation_id: organisationId, kind, language }).delete();
  },
};
