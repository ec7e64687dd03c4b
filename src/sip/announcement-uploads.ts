import type { z } from "zod";
import { announcementLanguages } from "../accounts/schemas.js";
import type { Actor } from "../audit/actor.js";
import type { AuditService } from "../audit/service.js";
import type { Clock } from "../clock.js";
import type { Database } from "../db/database.js";
import { NotFoundError, ValidationError } from "../errors.js";
import type { AnnouncementLanguage } from "./announcement-files.js";
import { type AnnouncementSummary, announcementStore } from "./announcement-store.js";
import { type AnnouncementCase, announcementCases } from "./call-record.js";
import type { announcementSchema } from "./schemas.js";
import type { UploadedAnnouncements } from "./uploaded-announcements.js";
import { parseWav } from "./wav.js";

type AnnouncementView = z.input<typeof announcementSchema>;

/** What of tenancy the uploads use: the organisations an actor may see (NotFound otherwise). */
export interface OrganisationAccess {
  get(actor: Actor, id: string): Promise<unknown>;
}

/**
 * Announcements an organisation uploads in place of the built-in ones: checked (a WAV file the
 * player can stream as it is, no longer than sip.announcementMaxSeconds), stored, audited, and
 * dropped from this process's cache at once.
 */
export class AnnouncementUploads {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    private readonly organisations: OrganisationAccess,
    private readonly cache: UploadedAnnouncements,
    private readonly maxSeconds: number,
  ) {}

  /** Every case in every language: the organisation's upload, or the built-in default. */
  async list(actor: Actor, organisationId: string): Promise<{ items: AnnouncementView[] }> {
    await this.organisations.get(actor, organisationId);
    const uploads = await announcementStore.summariesOf(this.db.knex, organisationId);
    const items: AnnouncementView[] = [];
    for (const kind of announcementCases) {
      for (const language of announcementLanguages) {
        const upload = uploads.find((u) => u.case === kind && u.language === language);
        items.push(view(kind, language, upload));
      }
    }
    return { items };
  }

  async put(
    actor: Actor,
    organisationId: string,
    kind: AnnouncementCase,
    language: AnnouncementLanguage,
    wav: Buffer,
  ): Promise<AnnouncementView> {
    await this.organisations.get(actor, organisationId);
    const parsed = parseWav(wav);
    if (!parsed.ok) throw new ValidationError([{ path: "body", message: parsed.reason }]);
    const samples = parsed.audio.samples.length;
    if (samples === 0) throw new ValidationError([{ path: "body", message: "has no audio" }]);
    const durationMs = Math.round((samples * 1000) / parsed.audio.sampleRate);
    if (durationMs > this.maxSeconds * 1000) {
      throw new ValidationError([
        {
          path: "body",
          message: `is ${(durationMs / 1000).toFixed(1)} s long; the limit is ${this.maxSeconds} s (sip.announcementMaxSeconds)`,
        },
      ]);
    }
    const row = {
      organisation_id: organisationId,
      case: kind,
      language,
      audio_base64: wav.toString("base64"),
      duration_ms: durationMs,
      uploaded_at: this.clock.now(),
      uploaded_by: actor.principal.userId,
    };
    await this.db.knex.transaction(async (trx) => {
      const before = await announcementStore.find(trx, organisationId, kind, language);
      await announcementStore.upsert(trx, row);
      await this.audit.record(trx, actor, {
        action: "organisation.announcement_uploaded",
        targetType: "organisation",
        targetId: organisationId,
        organisationId,
        before: before ? auditView(before) : null,
        after: auditView(row),
      });
    });
    this.cache.forget(organisationId);
    return view(kind, language, row);
  }

  /** Back to the built-in default. */
  async reset(
    actor: Actor,
    organisationId: string,
    kind: AnnouncementCase,
    language: AnnouncementLanguage,
  ): Promise<AnnouncementView> {
    await this.organisations.get(actor, organisationId);
    await this.db.knex.transaction(async (trx) => {
      const before = await announcementStore.find(trx, organisationId, kind, language);
      if (!before)
        throw new NotFoundError(`the organisation has no ${kind} announcement of its own in ${language}`);
      await announcementStore.delete(trx, organisationId, kind, language);
      await this.audit.record(trx, actor, {
        action: "organisation.announcement_reset",
        targetType: "organisation",
        targetId: organisationId,
        organisationId,
        before: auditView(before),
      });
    });
    this.cache.forget(organisationId);
    return view(kind, language, undefined);
  }
}

function auditView(row: AnnouncementSummary) {
  return { case: row.case, language: row.language, durationMs: row.duration_ms, uploadedBy: row.uploaded_by };
}

function view(
  kind: AnnouncementCase,
  language: AnnouncementLanguage,
  upload: AnnouncementSummary | undefined,
): AnnouncementView {
  return {
    case: kind,
    language,
    source: upload ? "uploaded" : "default",
    durationMs: upload ? upload.duration_ms : null,
    uploadedAt: upload ? upload.uploaded_at.toISOString() : null,
    uploadedBy: upload ? upload.uploaded_by : null,
  };
}
