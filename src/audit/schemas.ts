import { z } from "zod";
import { exportQuery, listQuery, pageSchema } from "../http/list.js";

const timestamp = z.iso.datetime();

export const auditEventSchema = z
  .object({
    id: z.uuid(),
    occurredAt: timestamp,
    actor: z.object({ userId: z.uuid().nullable(), tokenId: z.uuid().nullable(), label: z.string() }),
    action: z.string(),
    targetType: z.string(),
    targetId: z.uuid().nullable(),
    organisationId: z.uuid().nullable(),
    groupId: z.uuid().nullable(),
    before: z.unknown(),
    after: z.unknown(),
    requestId: z.string().nullable(),
  })
  .meta({ id: "AuditEvent" });
export const auditEventPage = pageSchema(auditEventSchema, "AuditEventPage");
const auditListing = {
  sortFields: ["occurredAt", "action"] as const,
  defaultSort: "-occurredAt",
  filters: {
    action: z.string().max(100).optional(),
    targetType: z.string().max(50).optional(),
    targetId: z.uuid().optional(),
    actorUserId: z.uuid().optional(),
    organisationId: z.uuid().optional(),
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
  },
};
export const auditEventListQuery = listQuery(auditListing);
export const auditEventExportQuery = exportQuery(auditListing);
