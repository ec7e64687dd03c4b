/** What is played to a caller instead of ringing: the two cases the server announces. */
export const announcementCases = ["caller-disabled", "callee-unavailable"] as const;
export type AnnouncementCase = (typeof announcementCases)[number];

export const callStatuses = [
  "in_progress",
  "answered",
  "busy",
  "declined",
  "cancelled",
  "no_answer",
  "not_found",
  "unavailable",
  "forbidden",
  "failed",
] as const;
export type CallStatus = (typeof callStatuses)[number];

export type EndedBy = "caller" | "callee" | "system";

/** One call attempt (a CDR), as the router keeps it while the call lasts and the store writes it. */
export interface CallRecord {
  id: string;
  callId: string;
  /** username@domain of the caller and of the callee as dialled. */
  caller: string;
  callee: string;
  callerAccountId: string | null;
  calleeAccountId: string | null;
  callerGroupId: string | null;
  calleeGroupId: string | null;
  startedAt: Date;
  answeredAt: Date | null;
  endedAt: Date | null;
  durationSeconds: number | null;
  status: CallStatus;
  /** The final SIP status the caller got. */
  sipStatus: number | null;
  endedBy: EndedBy | null;
  announcement: AnnouncementCase | null;
}

/** The status a caller's final SIP answer means for the record. */
export function callStatusOf(sipStatus: number): CallStatus {
  if (sipStatus >= 200 && sipStatus < 300) return "answered";
  if (sipStatus === 486 || sipStatus === 600) return "busy";
  if (sipStatus === 603) return "declined";
  if (sipStatus === 487) return "cancelled";
  if (sipStatus === 408) return "no_answer";
  if (sipStatus === 404 || sipStatus === 604) return "not_found";
  if (sipStatus === 480) return "unavailable";
  if (sipStatus === 403) return "forbidden";
  return "failed";
}

/** Closes a record: the end time, the duration from the answer, who hung up. */
export function endCall(record: CallRecord, at: Date, endedBy: EndedBy | null): void {
  record.endedAt = at;
  record.endedBy = endedBy;
  record.durationSeconds = record.answeredAt
    ? Math.max(0, Math.round((at.getTime() - record.answeredAt.getTime()) / 1000))
    : 0;
}
