import { z } from "zod";
import { sendCsv } from "../http/csv.js";
import { defineRoute, forRoles, type Route } from "../http/route.js";
import { roles } from "../tenancy/roles.js";
import { auditEventExportQuery, auditEventListQuery, auditEventPage } from "./schemas.js";
import type { AuditService } from "./service.js";
import type { AuditEvent } from "./views.js";

const anyRole = forRoles(...roles);
// The audit trail is documented with the tenancy operations, as it was before it had a folder.
const tags = ["tenancy"];

const auditColumns = [
  { header: "id", value: (e: AuditEvent) => e.id },
  { header: "occurredAt", value: (e: AuditEvent) => e.occurredAt },
  { header: "actor", value: (e: AuditEvent) => e.actor.label },
  { header: "actorUserId", value: (e: AuditEvent) => e.actor.userId },
  { header: "action", value: (e: AuditEvent) => e.action },
  { header: "targetType", value: (e: AuditEvent) => e.targetType },
  { header: "targetId", value: (e: AuditEvent) => e.targetId },
  { header: "organisationId", value: (e: AuditEvent) => e.organisationId },
  { header: "groupId", value: (e: AuditEvent) => e.groupId },
  { header: "requestId", value: (e: AuditEvent) => e.requestId },
];

const csvResponse = {
  status: 200,
  description: "Every matching row as CSV",
  schema: z.string(),
  contentType: "text/csv",
};

export function auditRoutes(audit: AuditService): Route[] {
  return [
    defineRoute({
      operationId: "listAuditEvents",
      method: "get",
      path: "/api/v1/audit-events",
      summary: "List audit events",
      tags,
      access: anyRole,
      request: { query: auditEventListQuery },
      response: { status: 200, description: "A page of audit events", schema: auditEventPage },
      handle: (input) => audit.list(input.actor, input.query),
    }),
    defineRoute({
      operationId: "exportAuditEvents",
      method: "get",
      path: "/api/v1/audit-events.csv",
      summary: "Export audit events",
      tags,
      access: anyRole,
      request: { query: auditEventExportQuery },
      response: csvResponse,
      handle: (input) => {
        sendCsv(input.ctx, "audit-events.csv", auditColumns, audit.export(input.actor, input.query));
        return undefined;
      },
    }),
  ];
}
