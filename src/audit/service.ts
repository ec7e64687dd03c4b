import type { Knex } from "knex";
import type { z } from "zod";
import type { Clock } from "../clock.js";
import type { Database } from "../db/database.js";
import { fetchAll, fetchPage } from "../db/listing.js";
import type { Page } from "../http/list.js";
import type { Actor, SystemActor } from "./actor.js";
import type { auditEventExportQuery, auditEventListQuery } from "./schemas.js";
import { type AuditEventInput, type AuditEventRow, auditStore as store } from "./store.js";
import { type AuditEvent, auditEventView } from "./views.js";

type Input<S extends z.ZodType> = z.output<S>;

/** What changed, as a capability reports it; who and when are added by `record`. */
export type AuditedChange = Omit<
  AuditEventInput,
  "actorUserId" | "actorTokenId" | "actorLabel" | "occurredAt" | "requestId"
>;

/** One line of an account's recent history, as the account "refresh" shows it. */
export interface RecentEvent {
  occurredAt: string;
  action: string;
  actor: string;
  requestId: string | null;
}

/** The audit trail: every capability records its changes here, in the change's own transaction. */
export class AuditService {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  /** Writes audit events in the caller's transaction, so they commit or roll back with the change. */
  async record(trx: Knex, actor: Actor | SystemActor, ...changes: AuditedChange[]): Promise<void> {
    const who =
      "principal" in actor
        ? {
            actorUserId: actor.principal.userId,
            actorTokenId: actor.principal.tokenId,
            actorLabel: actor.principal.email,
            requestId: actor.requestId,
          }
        : { actorUserId: null, actorTokenId: null, actorLabel: actor.label, requestId: null };
    const occurredAt = this.clock.now();
    await store.insertAuditEvents(
      trx,
      changes.map((change) => ({ ...change, ...who, occurredAt })),
    );
  }

  async list(actor: Actor, query: Input<typeof auditEventListQuery>): Promise<Page<AuditEvent>> {
    const { rows, total } = await fetchPage<AuditEventRow>(
      store.auditEventList(this.db.knex, actor.principal.scope, query),
      query.page,
      query.pageSize,
    );
    return { items: rows.map(auditEventView), page: query.page, pageSize: query.pageSize, total };
  }

  async *export(actor: Actor, query: Input<typeof auditEventExportQuery>): AsyncGenerator<AuditEvent> {
    for await (const row of fetchAll<AuditEventRow>(
      store.auditEventList(this.db.knex, actor.principal.scope, query),
      "audit_events.id",
    )) {
      yield auditEventView(row);
    }
  }

  /** The latest events of one target (the caller has checked it may see the target). */
  /** The newest events of a target, newest first; only these actions when named. */
  async recent(
    targetType: string,
    targetId: string,
    limit: number,
    actions?: readonly string[],
  ): Promise<RecentEvent[]> {
    const rows = await store.recentOfTarget(this.db.knex, targetType, targetId, limit, actions);
    return rows.map((e) => ({
      occurredAt: new Date(e.occurred_at).toISOString(),
      action: e.action,
      actor: e.actor_label,
      requestId: e.request_id,
    }));
  }
}
