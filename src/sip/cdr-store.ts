import type { Knex } from "knex";
import { applyListing } from "../db/listing.js";
import { parseSort } from "../http/list.js";
import type { Logger } from "../logger.js";
import type { Scope } from "../tenancy/roles.js";
import { groupSubtree } from "../tenancy/store.js";
import type { CallRecord } from "./call-record.js";

export interface CdrRow {
  id: string;
  call_id: string;
  caller: string;
  callee: string;
  caller_account_id: string | null;
  callee_account_id: string | null;
  caller_group_id: string | null;
  callee_group_id: string | null;
  started_at: Date | string;
  answered_at: Date | string | null;
  ended_at: Date | string | null;
  duration_seconds: number | null;
  status: string;
  sip_status: number | null;
  ended_by: string | null;
  announcement: string | null;
}

export interface CdrFilters {
  q?: string | undefined;
  sort: string;
  accountId?: string | undefined;
  groupId?: string | undefined;
  status?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
}

const toRow = (record: CallRecord): CdrRow => ({
  id: record.id,
  call_id: record.callId,
  caller: record.caller,
  callee: record.callee,
  caller_account_id: record.callerAccountId,
  callee_account_id: record.calleeAccountId,
  caller_group_id: record.callerGroupId,
  callee_group_id: record.calleeGroupId,
  started_at: record.startedAt,
  answered_at: record.answeredAt,
  ended_at: record.endedAt,
  duration_seconds: record.durationSeconds,
  status: record.status,
  sip_status: record.sipStatus,
  ended_by: record.endedBy,
  announcement: record.announcement,
});

const batchRows = 500;

/** The cdrs SQL: reads scoped by tenancy (a record belongs to the caller's and the callee's groups). */
export const cdrStore = {
  async upsert(db: Knex, records: readonly CallRecord[]): Promise<void> {
    const rows = records.map(toRow);
    for (let i = 0; i < rows.length; i += batchRows) {
      await db("cdrs")
        .insert(rows.slice(i, i + batchRows))
        .onConflict("id")
        .merge();
    }
  },

  visible(db: Knex, scope: Scope): Knex.QueryBuilder {
    const query = db<CdrRow>("cdrs").select("cdrs.*");
    if (scope.kind === "organisation") {
      const groups = db("groups").select("id").where("organisation_id", scope.organisationId);
      query.where((w) =>
        w.whereIn("cdrs.caller_group_id", groups).orWhereIn("cdrs.callee_group_id", groups.clone()),
      );
    }
    if (scope.kind === "group") {
      query.where((w) =>
        w
          .whereIn("cdrs.caller_group_id", groupSubtree(db, scope.groupIds))
          .orWhereIn("cdrs.callee_group_id", groupSubtree(db, scope.groupIds)),
      );
    }
    return query;
  },

  list(db: Knex, scope: Scope, filters: CdrFilters): Knex.QueryBuilder {
    const q = cdrStore.visible(db, scope);
    if (filters.accountId) {
      const id = filters.accountId;
      q.where((w) => w.where("cdrs.caller_account_id", id).orWhere("cdrs.callee_account_id", id));
    }
    if (filters.groupId) {
      const id = filters.groupId;
      q.where((w) =>
        w
          .whereIn("cdrs.caller_group_id", groupSubtree(db, id))
          .orWhereIn("cdrs.callee_group_id", groupSubtree(db, id)),
      );
    }
    if (filters.status) q.where("cdrs.status", filters.status);
    if (filters.from) q.where("cdrs.started_at", ">=", new Date(filters.from));
    if (filters.to) q.where("cdrs.started_at", "<", new Date(filters.to));
    return applyListing(q, {
      q: filters.q,
      searchColumns: ["cdrs.caller", "cdrs.callee"],
      sort: parseSort(filters.sort),
      sortColumns: {
        startedAt: "cdrs.started_at",
        durationSeconds: "cdrs.duration_seconds",
        status: "cdrs.status",
      },
      tieBreaker: "cdrs.id",
    });
  },
};

/**
 * Write-behind for call records: the router hands a record over when it changes (final answer,
 * answer, hang-up) and goes on; the latest state of each record is written in one multi-row
 * upsert per flush, one batch at a time, so the SIP hot path never waits on the database.
 */
export class CdrWriter {
  private pending = new Map<string, CallRecord>();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | null = null;

  constructor(
    private readonly knex: Knex,
    private readonly flushMs: number,
    private readonly logger: Logger,
  ) {}

  record(record: CallRecord): void {
    // A copy: the router keeps changing its record while the call lasts.
    this.pending.set(record.id, { ...record });
    if (this.flushMs === 0) {
      this.flush().catch(() => undefined);
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.flush().catch(() => undefined);
    }, this.flushMs);
  }

  /** Writes what is queued now (and waits for the batch in flight first). */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.pending.size === 0) return;
    const batch = [...this.pending.values()];
    this.pending = new Map();
    this.writing = cdrStore
      .upsert(this.knex, batch)
      .catch((error: unknown) => {
        // Put the batch back unless a newer state of a record arrived meanwhile; the next flush retries.
        for (const record of batch) if (!this.pending.has(record.id)) this.pending.set(record.id, record);
        this.logger.warn({ err: error, records: batch.length }, "SIP: writing call records failed");
        this.timer ??= setTimeout(
          () => {
            this.timer = undefined;
            this.flush().catch(() => undefined);
          },
          Math.max(this.flushMs, 1000),
        );
        throw error;
      })
      .finally(() => {
        this.writing = null;
      });
    await this.writing;
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush().catch(() => undefined);
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
