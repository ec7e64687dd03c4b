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
  /** Already rendered by messaging's own actions; otherwise rendered from the kind's template at delivery. */
  text?: string;
  subject?: string;
  encoding?: string;
  segments?: number;
  /** The installation link's code (/i/{code}). */
  linkCode?: string;
}

/** What other capabilities need of the outbox: a row written in their own transaction. */
export interface OutboxWriter {
  enqueue(trx: Knex, draft: OutboxDraft): Promise<{ id: string }>;
}

type QueuedListener = (message: { id: string; channel: OutboxChannel }) => void;

/**
 * The outbox: an action writes its messages here in its own transaction (beside its audit
 * event), so the message exists exactly when the action committed. Delivery reads the rows.
 */
export class Outbox implements OutboxWriter {
  private listener: QueuedListener | null = null;

  constructor(private readonly clock: Clock) {}

  /** Told of each message once its transaction has committed, so delivery can start at once. */
  onQueued(listener: QueuedListener): void {
    this.listener = listener;
  }

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
      subject: draft.subject ?? null,
      text: draft.text ?? null,
      encoding: draft.encoding ?? null,
      segments: draft.segments ?? null,
      link_code: draft.linkCode ?? null,
    });
    this.announceAfterCommit(trx, { id, channel: draft.channel });
    return { id };
  }

  /**
   * A rolled-back message must never be announced; a committed one that is not announced (the
   * process died first, Redis was away) is found by the delivery's sweep instead.
   */
  private announceAfterCommit(trx: Knex, message: { id: string; channel: OutboxChannel }): void {
    const listener = this.listener;
    if (!listener) return;
    const transaction = trx as unknown as Partial<Knex.Transaction>;
    if (transaction.isTransaction && transaction.executionPromise) {
      transaction.executionPromise.then(
        () => listener(message),
        () => undefined,
      );
    } else {
      queueMicrotask(() => listener(message));
    }
  }
}
