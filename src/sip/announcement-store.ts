import type { Knex } from "knex";

export interface AnnouncementRow {
  organisation_id: string;
  case: string;
  language: string;
  audio_base64: string;
  duration_ms: number;
  uploaded_at: Date;
  uploaded_by: string | null;
}

/** What a listing shows of an upload: everything but the audio. */
export type AnnouncementSummary = Omit<AnnouncementRow, "audio_base64">;

const summaryColumns = [
  "organisation_id",
  "case",
  "language",
  "duration_ms",
  "uploaded_at",
  "uploaded_by",
] as const;

/** The announcements organisations uploaded. */
export const announcementStore = {
  find(
    db: Knex,
    organisationId: string,
    kind: string,
    language: string,
  ): Promise<AnnouncementSummary | undefined> {
    return db<AnnouncementRow>("announcements")
      .select(...summaryColumns)
      .where({ organisation_id: organisationId, case: kind, language })
      .first();
  },

  summariesOf(db: Knex, organisationId: string): Promise<AnnouncementSummary[]> {
    return db<AnnouncementRow>("announcements")
      .select(...summaryColumns)
      .where({ organisation_id: organisationId })
      .orderBy(["case", "language"]);
  },

  /** With the audio: what the SIP side plays. */
  ofOrganisation(db: Knex, organisationId: string): Promise<AnnouncementRow[]> {
    return db<AnnouncementRow>("announcements").where({ organisation_id: organisationId });
  },

  async upsert(db: Knex, row: AnnouncementRow): Promise<void> {
    await db("announcements")
      .insert(row)
      .onConflict(["organisation_id", "case", "language"])
      .merge(["audio_base64", "duration_ms", "uploaded_at", "uploaded_by"]);
  },

  async delete(db: Knex, organisationId: string, kind: string, language: string): Promise<number> {
    return db("announcements").where({ organisation_id: organisationId, case: kind, language }).delete();
  },

  /** The organisation a group belongs to; groups never move between organisations. */
  async organisationOfGroup(db: Knex, groupId: string): Promise<string | null> {
    const row = await db("groups").select("organisation_id").where({ id: groupId }).first();
    return (row?.organisation_id as string | undefined) ?? null;
  },
};
