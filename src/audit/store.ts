import type { Knex } from "knex";
import { applyListing } from "../db/listing.js";
import { parseSort } from "../http/list.js";
import type { Scope } from "../tenancy/roles.js";
import { groupSubtree } from "../tenancy/store.js";

export interface AuditEventRow {
  id: string;
  occurred_at: Date;
  actor_user_id: string | null;
  actor_token_id: string | null;
  actor_label: string;
  action: string;
  target_type: string;
  target_id: string | null;
  organisation_id: string | null;
  group_id: string | null;
  before: unknown;
  after: unknown;
  request_id: string | null;
}

export interface AuditEventInput {
  actorUserId: string | null;
  actorTokenId: string | null;
  actorLabel: string;
  action: string;
  targetType: string;
  targetId: string | null;
  organisationId?: string | null;
  groupId?: string | null;
  before?: unknown;
  after?: unknown;
  requestId?: string | null;
  occurredAt: Date;
}

export interface AuditEventFilters {
  q?: string | undefined;
  sort: string;
  action?: string | undefined;
  targetType?: string | undefined;
  targetId?: string | undefined;
  actorUserId?: string | undefined;
  organisationId?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
}

export type RecentAuditEventRow = Pick<
  AuditEventRow,
  "occurred_at" | "action" | "actor_label" | "request_id"
>;

/** The audit_events SQL. Every function takes the knex or transaction to run on. */
export const auditStore = {
  visibleAuditEvents(db: Knex, scope: Scope): Knex.QueryBuilder {
    const query = db<AuditEventRow>("audit_events").select("audit_events.*");
    if (scope.kind === "organisation") query.where("audit_events.organisation_id", scope.organisationId);
    if (scope.kind === "group") query.whereIn("audit_events.group_id", groupSubtree(db, scope.groupIds));
    return query;
  },

  /** The events the scope sees that match a list's filters, searched and sorted. */
  auditEventList(db: Knex, scope: Scope, query: AuditEventFilters): Knex.QueryBuilder {
    const q = auditStore.visibleAuditEvents(db, scope);
    if (query.action) q.where("audit_events.action", query.action);
    if (query.targetType) q.where("audit_events.target_type", query.targetType);
    if (query.targetId) q.where("audit_events.target_id", query.targetId);
    if (query.actorUserId) q.where("audit_events.actor_user_id", query.actorUserId);
    if (query.organisationId) q.where("audit_events.organisation_id", query.organisationId);
    if (query.from) q.where("audit_events.occurred_at", ">=", new Date(query.from));
    if (query.to) q.where("audit_events.occurred_at", "<", new Date(query.to));
    return applyListing(q, {
      q: query.q,
      searchColumns: ["audit_events.action", "audit_events.actor_label"],
      sort: parseSort(query.sort),
      sortColumns: { occurredAt: "audit_events.occurred_at", action: "audit_events.action" },
      tieBreaker: "audit_events.id",
    });
  },

  /** The latest events of one target, newest first, regardless of scope. */
  async recentOfTarget(
    db: Knex,
    targetType: string,
    targetId: string,
    limit: number,
    actions?: readonly string[],
  ): Promise<RecentAuditEventRow[]> {
    const query = db("audit_events").where({ target_type: targetType, target_id: targetId });
    if (actions) query.whereIn("action", actions);
    return (await query
      .orderBy("occurred_at", "desc")
      .limit(limit)
      .select("occurred_at", "action", "actor_label", "request_id")) as RecentAuditEventRow[];
  },

  /** Many events (a batch import's) go in statements of 500 rows rather than one round trip each. */
  async insertAuditEvents(db: Knex, events: readonly AuditEventInput[]): Promise<void> {
    const rows = events.map((event) => ({
      occurred_at: event.occurredAt,
      actor_user_id: event.actorUserId,
      actor_token_id: event.actorTokenId,
      actor_label: event.actorLabel,
      action: event.action,
      target_type: event.targetType,
      target_id: event.targetId,
      organisation_id: event.organisationId ?? null,
      group_id: event.groupId ?? null,
      before: event.before === undefined ? null : JSON.stringify(event.before),
      after: event.after === undefined ? null : JSON.stringify(event.after),
      request_id: event.requestId ?? null,
    }));
    for (let i = 0; i < rows.length; i += 500) await db("audit_events").insert(rows.slice(i, i + 500));
  },
};
