import { z } from "zod";
import { sendCsv } from "../http/csv.js";
import { defineRoute, forRoles, type Route } from "../http/route.js";
import { roles } from "../tenancy/roles.js";
import type { CallRecords } from "./call-records.js";
import { accountCdrListQuery, cdrExportQuery, cdrListQuery, cdrPage } from "./schemas.js";
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
