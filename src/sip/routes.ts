import { z } from "zod";
import { ValidationError } from "../errors.js";
import { sendCsv } from "../http/csv.js";
import { defineRoute, forRoles, type Route } from "../http/route.js";
import { roles } from "../tenancy/roles.js";
import type { AnnouncementUploads } from "./announcement-uploads.js";
import type { CallRecords } from "./call-records.js";
import {
  accountCdrListQuery,
  announcementBody,
  announcementList,
  announcementOrganisationQuery,
  announcementParams,
  announcementSchema,
  cdrExportQuery,
  cdrListQuery,
  cdrPage,
} from "./schemas.js";
import type { Cdr } from "./views.js";

const anyRole = forRoles(...roles);
const tags = ["calls"];

const cdrColumns = [
  { header: "id", value: (c: Cdr) => c.id },
  { header: "caller", value: (c: Cdr) => c.caller },
  { header: "callee", value: (c: Cdr) => c.callee },
  { header: "startedAt", value: (c: Cdr) => c.startedAt },
  { header: "answeredAt", value: (c: Cdr) => c.answeredAt },
  { header: "endedAt", value: (c: Cdr) => c.endedAt },
  { header: "durationSeconds", value: (c: Cdr) => c.durationSeconds },
  { header: "status", value: (c: Cdr) => c.status },
  { header: "sipStatus", value: (c: Cdr) => c.sipStatus },
  { header: "endedBy", value: (c: Cdr) => c.endedBy },
  { header: "announcement", value: (c: Cdr) => c.announcement },
  { header: "callerAccountId", value: (c: Cdr) => c.callerAccountId },
  { header: "calleeAccountId", value: (c: Cdr) => c.calleeAccountId },
  { header: "callId", value: (c: Cdr) => c.callId },
];

export function cdrRoutes(records: CallRecords): Route[] {
  return [
    defineRoute({
      operationId: "listCdrs",
      method: "get",
      path: "/api/v1/cdrs",
      summary: "List call records",
      tags,
      access: anyRole,
      request: { query: cdrListQuery },
      response: { status: 200, description: "A page of call records", schema: cdrPage },
      handle: (input) => records.list(input.actor, input.query),
    }),
    defineRoute({
      operationId: "exportCdrs",
      method: "get",
      path: "/api/v1/cdrs.csv",
      summary: "Export call records",
      tags,
      access: anyRole,
      request: { query: cdrExportQuery },
      response: {
        status: 200,
        description: "Every matching call record as CSV",
        schema: z.string(),
        contentType: "text/csv",
      },
      handle: (input) => {
        sendCsv(input.ctx, "cdrs.csv", cdrColumns, records.export(input.actor, input.query));
        return undefined;
      },
    }),
    defineRoute({
      operationId: "listAccountCdrs",
      method: "get",
      path: "/api/v1/accounts/{id}/cdrs",
      summary: "The calls an account made or received (the last month unless from is given)",
      tags,
      access: anyRole,
      request: { params: z.object({ id: z.uuid() }), query: accountCdrListQuery },
      response: { status: 200, description: "A page of call records", schema: cdrPage },
      handle: (input) => records.ofAccount(input.actor, input.params.id, input.query),
    }),
  ];
}

const announcementWriters = forRoles("operator", "company_admin");

/** The caller's organisation, or the one an operator names with ?organisationId=. */
function organisationOf(own: string | null | undefined, named: string | undefined): string {
  const id = named ?? own;
  if (!id) throw new ValidationError([{ path: "query.organisationId", message: "name the organisation" }]);
  return id;
}

export function announcementRoutes(uploads: AnnouncementUploads): Route[] {
  const tags = ["calls"];
  return [
    defineRoute({
      operationId: "listAnnouncements",
      method: "get",
      path: "/api/v1/announcements",
      summary: "The announcements of the caller's organisation, uploaded or default (operators name it)",
      tags,
      access: announcementWriters,
      request: { query: announcementOrganisationQuery },
      response: { status: 200, description: "Every case in every language", schema: announcementList },
      handle: (input) =>
        uploads.list(
          input.actor,
          organisationOf(input.principal?.organisationId, input.query.organisationId),
        ),
    }),
    defineRoute({
      operationId: "putAnnouncement",
      method: "put",
      path: "/api/v1/announcements/{case}/{language}",
      summary: "Upload an announcement for the caller's organisation (operators name it)",
      tags,
      access: announcementWriters,
      request: {
        params: announcementParams,
        query: announcementOrganisationQuery,
        body: announcementBody,
        bodyType: "wav",
      },
      response: { status: 200, description: "The announcement in effect", schema: announcementSchema },
      handle: (input) =>
        uploads.put(
          input.actor,
          organisationOf(input.principal?.organisationId, input.query.organisationId),
          input.params.case,
          input.params.language,
          input.body,
        ),
    }),
    defineRoute({
      operationId: "resetAnnouncement",
      method: "delete",
      path: "/api/v1/announcements/{case}/{language}",
      summary: "Drop the organisation's upload: the default plays again (operators name it)",
      tags,
      access: announcementWriters,
      request: { params: announcementParams, query: announcementOrganisationQuery },
      response: { status: 200, description: "The announcement in effect", schema: announcementSchema },
      handle: (input) =>
        uploads.reset(
          input.actor,
          organisationOf(input.principal?.organisationId, input.query.organisationId),
          input.params.case,
          input.params.language,
        ),
    }),
  ];
}
