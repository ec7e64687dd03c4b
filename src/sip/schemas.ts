import { z } from "zod";
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
