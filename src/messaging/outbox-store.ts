import type { Knex } from "knex";

export type OutboxChannel = "sms" | "email";
export type OutboxStatus = "queued" | "sending" | "sent" | "delivered" | "failed";

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
}

export const outboxStore = {
  async insert(trx: Knex, row: OutboxRow): Promise<void> {
    await trx("outbox_messages").insert({ ...row, variables: JSON.stringify(row.variables) });
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
};
