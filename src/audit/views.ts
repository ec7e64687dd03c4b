import type { z } from "zod";
import { iso } from "../tenancy/views.js";
import type { auditEventSchema } from "./schemas.js";
import type { AuditEventRow } from "./store.js";

export type AuditEvent = z.input<typeof auditEventSchema>;

export const auditEventView = (row: AuditEventRow): AuditEvent => ({
  id: row.id,
  occurredAt: iso(row.occurred_at),
  actor: { userId: row.actor_user_id, tokenId: row.actor_token_id, label: row.actor_label },
  action: row.action,
  targetType: row.target_type,
  targetId: row.target_id,
  organisationId: row.organisation_id,
  groupId: row.group_id,
  before: row.before,
  after: row.after,
  requestId: row.request_id,
});
