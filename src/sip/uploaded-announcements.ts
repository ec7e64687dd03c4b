import type { Knex } from "knex";
import type { Clock } from "../clock.js";
import type { Logger } from "../logger.js";
import type { AnnouncementLanguage } from "./announcement-files.js";
import { announcementStore } from "./announcement-store.js";
import type { AnnouncementCase } from "./call-record.js";
import { parseWav } from "./wav.js";

/**
 * How long a process trusts what it read of an organisation's uploads. An upload or delete
 * through this process's API is seen at once (forget()); another process (a SIP worker, another
 * node) plays the previous audio for at most this long.
 */
export const uploadedAnnouncementCacheSeconds = 10;

interface CachedOrganisation {
  readUntil: number;
  samples: Promise<Map<string, Int16Array>>;
}

/**
 * The read side of uploaded announcements, as the SIP router asks for them: per organisation,
 * all of its uploads decoded once and kept for a short time, so an announced call costs no query
 * while the cache is warm. Groups are mapped to their organisation once (groups do not move).
 */
export class UploadedAnnouncements {
  private readonly organisations = new Map<string, CachedOrganisation>();
  private readonly organisationOfGroup = new Map<string, Promise<string | null>>();

  constructor(
    private readonly knex: Knex,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** The uploaded samples for an account's group, or null: the default then plays. */
  async samplesFor(
    groupId: string,
    kind: AnnouncementCase,
    language: AnnouncementLanguage,
  ): Promise<Int16Array | null> {
    let organisation = this.organisationOfGroup.get(groupId);
    if (!organisation) {
      organisation = announcementStore.organisationOfGroup(this.knex, groupId);
      organisation.catch(() => this.organisationOfGroup.delete(groupId));
      this.organisationOfGroup.set(groupId, organisation);
    }
    const organisationId = await organisation;
    if (!organisationId) return null;
    const uploads = await this.uploadsOf(organisationId);
    return uploads.get(`${kind}.${language}`) ?? null;
  }

  /** Drops what this process read of an organisation (after its uploads changed). */
  forget(organisationId: string): void {
    this.organisations.delete(organisationId);
  }

  private uploadsOf(organisationId: string): Promise<Map<string, Int16Array>> {
    const now = this.clock.now().getTime();
    const cached = this.organisations.get(organisationId);
    if (cached && cached.readUntil > now) return cached.samples;
    const samples = this.read(organisationId);
    const entry = { readUntil: now + uploadedAnnouncementCacheSeconds * 1000, samples };
    samples.catch(() => {
      if (this.organisations.get(organisationId) === entry) this.organisations.delete(organisationId);
    });
    this.organisations.set(organisationId, entry);
    return samples;
  }

  private async read(organisationId: string): Promise<Map<string, Int16Array>> {
    const rows = await announcementStore.ofOrganisation(this.knex, organisationId);
    const samples = new Map<string, Int16Array>();
    for (const row of rows) {
      const parsed = parseWav(Buffer.from(row.audio_base64, "base64"));
      // Uploads are checked before they are stored; one that no longer parses plays the default.
      if (!parsed.ok) {
        this.logger.warn(
          { organisationId, case: row.case, language: row.language },
          "SIP: stored announcement unreadable",
        );
        continue;
      }
      samples.set(`${row.case}.${row.language}`, parsed.audio.samples);
    }
    return samples;
  }
}
