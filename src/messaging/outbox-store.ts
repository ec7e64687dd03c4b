import type { Knex } from "knex";

export type OutboxChannel = "sms" | "email";
export type OutboxStatus = "queued" | "sending" | "sent" | "delivered" | "failed" | "clicked";

export interface OutboxRow {
  id: string;
  channel: OutboxChannel;
  kind: string;
  recipient: string;
  language: string;
  variables: Record<string, string>;
  organisation_id: string | null;
  account_id: string | null;
  idempotency_key: string;
  status: OutboxStatus;
  attempts: number;
  next_attempt_at: Date;
  last_error: string | null;
  created_at: Date;
  updated_at: Date;
  subject?: string | null;
  text?: string | null;
  encoding?: string | null;
  segments?: number | null;
  gateway?: string | null;
  gateway_message_id?: string | null;
  lease_until?: Date | null;
  sent_at?: Date | null;
  delivered_at?: Date | null;
  link_code?: string | null;
  clicked_at?: Date | null;
  click_platform?: string | null;
  click_user_agent?: string | null;
}

export interface StatusHistoryRow {
  message_id: string;
  status: OutboxStatus;
  detail: string | null;
  occurred_at: Date;
}

/** The outbox's SQL: rows, their status history, and the claims workers take on them. */
export const outboxStore = {
  async insert(trx: Knex, row: OutboxRow): Promise<void> {
    await trx("outbox_messages").insert({ ...row, variables: JSON.stringify(row.variables) });
    await trx("outbox_status_history").insert({
      message_id: row.id,
      status: row.status,
      detail: null,
      occurred_at: row.created_at,
    });
  },

  byAccount(db: Knex, accountId: string, limit: number): Promise<OutboxRow[]> {
    return db<OutboxRow>("outbox_messages")
      .where({ account_id: accountId })
      .orderBy([
        { column: "created_at", order: "desc" },
        { column: "id", order: "desc" },
      ])
      .limit(limit);
  },

  async find(db: Knex, id: string): Promise<OutboxRow | undefined> {
    return db<OutboxRow>("outbox_messages").where({ id }).first();
  },

  async findByLinkCode(db: Knex, code: string): Promise<OutboxRow | undefined> {
    return db<OutboxRow>("outbox_messages").where({ link_code: code }).first();
  },

  async findByGatewayId(db: Knex, gateway: string, gatewayMessageId: string): Promise<OutboxRow | undefined> {
    return db<OutboxRow>("outbox_messages").where({ gateway, gateway_message_id: gatewayMessageId }).first();
  },

  history(db: Knex, messageIds: readonly string[]): Promise<StatusHistoryRow[]> {
    if (messageIds.length === 0) return Promise.resolve([]);
    return db<StatusHistoryRow>("outbox_status_history")
      .whereIn("message_id", messageIds)
      .orderBy([{ column: "message_id" }, { column: "id", order: "asc" }]);
  },

  /**
   * Takes a message for one delivery attempt, if it is due: queued and its time has come, or
   * sending under a lease that ran out (the worker died). One UPDATE, so of several workers
   * racing for it exactly one wins; its history line is written by the same statement.
   */
  async claim(
    db: Knex,
    id: string,
    now: Date,
    leaseUntil: Date,
    gateway: string,
  ): Promise<OutboxRow | undefined> {
    const update = db("outbox_messages")
      .where({ id })
      .andWhere((q) =>
        q
          .where((w) => w.where({ status: "queued" }).andWhere("next_attempt_at", "<=", now))
          .orWhere((w) => w.where({ status: "sending" }).andWhere("lease_until", "<", now)),
      )
      .update({
        status: "sending",
        lease_until: leaseUntil,
        attempts: db.raw("attempts + 1"),
        updated_at: now,
      })
      .returning("*")
      .toSQL();
    const result = await db.raw(
      `with claimed as (${update.sql}),
       noted as (insert into outbox_status_history (message_id, status, detail, occurred_at)
                 select id, 'sending', 'attempt ' || attempts || ' via ' || ?::text, ? from claimed)
       select * from claimed`,
      [...update.bindings, gateway, now],
    );
    return (result as { rows: OutboxRow[] }).rows[0];
  },

  /** Messages a worker should take now: due queued ones and those whose lease ran out. */
  due(db: Knex, now: Date, limit: number): Promise<Array<Pick<OutboxRow, "id" | "channel" | "attempts">>> {
    return db<OutboxRow>("outbox_messages")
      .select("id", "channel", "attempts")
      .where((w) => w.where({ status: "queued" }).andWhere("next_attempt_at", "<=", now))
      .orWhere((w) => w.where({ status: "sending" }).andWhere("lease_until", "<", now))
      .orderBy("next_attempt_at")
      .limit(limit);
  },

  /**
   * Moves a message to a new status (only from `from`, when given) and notes it in its history,
   * in one statement: delivery writes these for every message, and round trips are its cost.
   */
  async transition(
    db: Knex,
    id: string,
    change: Partial<OutboxRow> & { status: OutboxStatus; updated_at: Date },
    detail: string | null,
    from?: readonly OutboxStatus[],
  ): Promise<boolean> {
    const query = db("outbox_messages").where({ id });
    if (from) query.whereIn("status", from);
    const update = query.update(change).returning("id").toSQL();
    const result = await db.raw(
      `with moved as (${update.sql})
       insert into outbox_status_history (message_id, status, detail, occurred_at)
       select id, ?, ?, ? from moved returning message_id`,
      [...update.bindings, change.status, detail, change.updated_at],
    );
    return (result as { rows: unknown[] }).rows.length > 0;
  },

  async depth(db: Knex): Promise<Array<{ channel: string; status: string; count: number }>> {
    const rows = await db("outbox_messages")
      .select("channel", "status")
      .count<Array<{ channel: string; status: string; count: string | number }>>("* as count")
      .whereIn("status", ["queued", "sending"])
      .groupBy("channel", "status");
    return rows.map((r) => ({ channel: r.channel, status: r.status, count: Number(r.count) }));
  },
};
