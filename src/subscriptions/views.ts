import type { z } from "zod";
import { iso, isoOrNull } from "../tenancy/views.js";
import { dayFromColumn } from "./periods.js";
import type { subscriptionRequestSchema } from "./schemas.js";
import type { SubscriptionRequestRow } from "./store.js";

export type SubscriptionRequest = z.input<typeof subscriptionRequestSchema>;

export const requestView = (row: SubscriptionRequestRow): SubscriptionRequest => ({
  id: row.id,
  accountId: row.account_id,
  kind: row.kind,
  status: row.status,
  note: row.note,
  endsOn: dayFromColumn(row.ends_on),
  requestedBy: row.requested_by,
  requestedAt: iso(row.requested_at),
  decidedBy: row.decided_by,
  decidedAt: isoOrNull(row.decided_at),
  reason: row.reason,
});
