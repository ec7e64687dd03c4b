import { z } from "zod";
import { announcementLanguages } from "../accounts/schemas.js";
import { exportQuery, listQuery, pageSchema } from "../http/list.js";
import { announcementCases, callStatuses } from "./call-record.js";

const timestamp = z.iso.datetime();

export const cdrSchema = z
  .object({
    id: z.uuid(),
    callId: z.string(),
    caller: z.string(),
    callee: z.string(),
    callerAccountId: z.uuid().nullable(),
    calleeAccountId: z.uuid().nullable(),
    startedAt: timestamp,
    answeredAt: timestamp.nullable(),
    endedAt: timestamp.nullable(),
    durationSeconds: z.number().int().nullable(),
    status: z.enum(callStatuses),
    sipStatus: z.number().int().nullable(),
    endedBy: z.enum(["caller", "callee", "system"]).nullable(),
    announcement: z.enum(announcementCases).nullable(),
  })
  .meta({ id: "Cdr" });
export const cdrPage = pageSchema(cdrSchema, "CdrPage");

const cdrListing = {
  sortFields: ["startedAt", "durationSeconds", "status"] as const,
  defaultSort: "-startedAt",
  filters: {
    accountId: z.uuid().optional(),
    /** A group and its sub-groups. */
    groupId: z.uuid().optional(),
    status: z.enum(callStatuses).optional(),
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
  },
};
export const cdrListQuery = listQuery(cdrListing);
export const cdrExportQuery = exportQuery(cdrListing);
export const accountCdrListQuery = cdrListQuery.omit({ accountId: true, groupId: true });

export const announcementParams = z.object({
  case: z.enum(announcementCases),
  language: z.enum(announcementLanguages),
});
export const announcementOrganisationQuery = z.object({ organisationId: z.uuid().optional() }).strict();

/** A WAV file as sent: the bytes, checked by the operation (src/sip/wav.ts). */
export const announcementBody = z.instanceof(Buffer, { error: "send the announcement as an audio/wav file" });

export const announcementSchema = z
  .object({
    case: z.enum(announcementCases),
    language: z.enum(announcementLanguages),
    /** "uploaded": the organisation's own; "default": the built-in one plays. */
    source: z.enum(["uploaded", "default"]),
    durationMs: z.number().int().nullable(),
    uploadedAt: timestamp.nullable(),
    uploadedBy: z.uuid().nullable(),
  })
  .meta({ id: "Announcement" });
export const announcementList = z
  .object({ items: z.array(announcementSchema) })
  .meta({ id: "AnnouncementList" });
