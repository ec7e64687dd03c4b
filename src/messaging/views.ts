import type { z } from "zod";
import { iso, isoOrNull } from "../tenancy/views.js";
import type { OutboxRow, StatusHistoryRow } from "./outbox-store.js";
import type { messageSchema } from "./schemas.js";

export type Message = z.input<typeof messageSchema>;

export const messageView = (row: OutboxRow, history: readonly StatusHistoryRow[]): Message => ({
  id: row.id,
  channel: row.channel,
  kind: row.kind,
  to: row.recipient,
  status: row.status,
  text: row.text ?? null,
  subject: row.subject ?? null,
  encoding: row.encoding ?? null,
  segments: row.segments ?? null,
  gateway: row.gateway ?? null,
  attempts: row.attempts,
  failureReason: row.status === "failed" ? row.last_error : null,
  idempotencyKey: row.idempotency_key,
  createdAt: iso(row.created_at),
  sentAt: isoOrNull(row.sent_at ?? null),
  deliveredAt: isoOrNull(row.delivered_at ?? null),
  clickedAt: isoOrNull(row.clicked_at ?? null),
  clickPlatform: row.click_platform ?? null,
  history: history.map((h) => ({ status: h.status, at: iso(h.occurred_at), detail: h.detail })),
});
