import type { Knex } from "knex";
import type { Clock } from "../clock.js";
import { ids } from "../ids.js";
import { type OutboxChannel, outboxStore } from "./outbox-store.js";

/** A message an action causes, as the action describes it; rendering and delivery come later. */
export interface OutboxDraft {
  channel: OutboxChannel;
  /** What it is for: installation_sms, activation_sms, activation_email, duress_alert, renewal_reminder, ... */
  kind: string;
  recipient: string;
  language?: string;
  variables?: Record<string, string>;
  organisationId?: string | null;
  accountId?: string | null;
}

/** What other capabilities need of the outbox: a row written in their own transaction. */
export interface OutboxWriter {
  enqueue(trx: Knex, draft: OutboxDraft): Promise<{ id: string }>;
}

/**
 * The outbox: an action writes its messages here in its own transaction (beside its audit
 * event), so the message exists exactly when the action committed. Delivery reads the rows.
 */
export class Outbox implements OutboxWriter {
  constructor(private readonly clock: Clock) {}

  async enqueue(trx: Knex, draft: OutboxDraft): Promise<{ id: string }> {
    const now = this.clock.now();
    const id = ids.uuid();
    await outboxStore.insert(trx, {
      id,
      channel: draft.channel,
      kind: draft.kind,
      recipient: draft.recipient,
      language: draft.language ?? "en",
      variables: draft.variables ?? {},
      organisation_id: draft.organisationId ?? null,
      account_id: draft.accountId ?? null,
      // The row id is unique and stable across retries, which is what a gateway needs to deduplicate.
      idempotency_key: id,
      status: "queued",
      attempts: 0,
      next_attempt_at: now,
      last_error: null,
      created_at: now,
      updated_at: now,
    });
    return { id };
  }
}
