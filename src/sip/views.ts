import type { z } from "zod";
import type { CdrRow } from "./cdr-store.js";
import type { cdrSchema } from "./schemas.js";

export type Cdr = z.output<typeof cdrSchema>;

const iso = (value: Date | string | null): string | null =>
  value === null ? null : new Date(value).toISOString();

export function cdrView(row: CdrRow): Cdr {
  return {
    id: row.id,
    callId: row.call_id,
    caller: row.caller,
    callee: row.callee,
    callerAccountId: row.caller_account_id,
    calleeAccountId: row.callee_account_id,
    startedAt: new Date(row.started_at).toISOString(),
    answeredAt: iso(row.answered_at),
    endedAt: iso(row.ended_at),
    durationSeconds: row.duration_seconds === null ? null : Number(row.duration_seconds),
    status: row.status as Cdr["status"],
    sipStatus: row.sip_status === null ? null : Number(row.sip_status),
    endedBy: row.ended_by as Cdr["endedBy"],
    announcement: row.announcement as Cdr["announcement"],
  };
}
