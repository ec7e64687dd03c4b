import type { Knex } from "knex";
import type { Clock } from "../clock.js";
import type { JobPayload, JobQueue } from "../jobs/queue.js";
import type { Logger } from "../logger.js";
import type { DeliveryReport, Gateway } from "./gateways/gateway.js";
import { GatewayError } from "./gateways/gateway.js";
import type { MessagingMetrics } from "./metrics.js";
import type { Outbox } from "./outbox.js";
import { type OutboxChannel, type OutboxRow, outboxStore } from "./outbox-store.js";
import { renderMessage } from "./template-choice.js";
import { TemplateRenderError } from "./templates.js";

export interface DeliveryOptions {
  sweepMs: number;
  leaseSeconds: number;
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  concurrency: number;
  ratePerSecond: Record<OutboxChannel, number>;
}

const jobName: Record<OutboxChannel, string> = { sms: "deliver-sms", email: "deliver-email" };

/**
 * Delivery: the queue carries "deliver message X" jobs; the outbox row decides. A worker claims
 * the row with one UPDATE (so of several processes one wins), hands it to the gateway under a
 * lease, and records sent, a retry with backoff, or failed. A sweep in every process re-adds
 * what is due, so a job the queue lost (crash, Redis restarted empty) is delivered all the same.
 */
export class Delivery {
  private sweepTimer: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly db: Knex,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly gateways: Record<OutboxChannel, Gateway>,
    private readonly queue: JobQueue,
    private readonly metrics: MessagingMetrics,
    private readonly options: DeliveryOptions,
  ) {}

  async start(outbox: Outbox): Promise<void> {
    for (const channel of ["sms", "email"] as const) {
      const rate = this.options.ratePerSecond[channel];
      this.queue.process(jobName[channel], (payload) => this.deliver(String(payload.id), channel), {
        concurrency: this.options.concurrency,
        // Per second, or per the time one message takes at slow rates (0.5/s: one per 2 s).
        rateLimit:
          rate >= 1 ? { max: Math.round(rate), perMs: 1000 } : { max: 1, perMs: Math.round(1000 / rate) },
      });
      this.gateways[channel].onReport?.((report) => {
        void this.applyReport(this.gateways[channel].name, report).catch((error: unknown) =>
          this.logger.error({ err: error, report }, "delivery report not recorded"),
        );
      });
    }
    outbox.onQueued((message) => this.announce(message.id, message.channel, 0));
    await this.queue.start();
    this.sweepTimer = setInterval(() => {
      this.sweeping ??= this.sweep().finally(() => {
        this.sweeping = null;
      });
    }, this.options.sweepMs);
    this.sweepTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    await this.sweeping;
    await this.queue.close();
    await Promise.all(Object.values(this.gateways).map((gateway) => gateway.close()));
  }

  /** Adds messages that are due to the queue: the safety net under the after-commit announcement. */
  async sweep(): Promise<void> {
    if (this.stopped) return;
    try {
      const due = await outboxStore.due(this.db, this.clock.now(), 500);
      for (const row of due) await this.announce(row.id, row.channel, row.attempts);
    } catch (error) {
      this.logger.warn({ err: error }, "outbox sweep failed; the next one retries");
    }
  }

  private async announce(id: string, channel: OutboxChannel, attempts: number, delayMs = 0): Promise<void> {
    if (this.stopped) return;
    const payload: JobPayload = { id };
    try {
      // One job per attempt: a lost or repeated job is harmless, the claim decides.
      await this.queue.add(jobName[channel], payload, { jobId: `${id}.${attempts}`, delayMs });
    } catch (error) {
      this.logger.warn({ err: error, messageId: id }, "message not handed to the queue; the sweep retries");
    }
  }

  /** One delivery attempt of one message; a no-op when another worker has it or it is done. */
  async deliver(id: string, channel: OutboxChannel): Promise<void> {
    const now = this.clock.now();
    const leaseUntil = new Date(now.getTime() + this.options.leaseSeconds * 1000);
    const gateway = this.gateways[channel];
    const row = await outboxStore.claim(this.db, id, now, leaseUntil, gateway.name);
    if (!row) return;
    let text = row.text ?? null;
    let subject = row.subject ?? null;
    if (text === null) {
      try {
        const rendered = await renderMessage(this.db, {
          organisationId: row.organisation_id,
          kind: row.kind,
          language: row.language,
          variables: row.variables,
        });
        text = rendered.text;
        subject = rendered.subject;
      } catch (error) {
        if (!(error instanceof TemplateRenderError)) throw error;
        await this.fail(row, gateway.name, new GatewayError("template", error.message, true));
        return;
      }
    }
    try {
      const { gatewayMessageId } = await gateway.send({
        id: row.id,
        idempotencyKey: row.idempotency_key,
        to: row.recipient,
        text,
        subject,
        encoding: row.encoding ?? null,
      });
      const sentAt = this.clock.now();
      await outboxStore.transition(
        this.db,
        id,
        {
          status: "sent",
          gateway: gateway.name,
          gateway_message_id: gatewayMessageId,
          text,
          subject,
          sent_at: sentAt,
          lease_until: null,
          last_error: null,
          updated_at: sentAt,
        },
        gatewayMessageId
          ? `accepted by ${gateway.name} as ${gatewayMessageId}`
          : `accepted by ${gateway.name}`,
        ["sending"],
      );
      this.metrics.deliveryLatency.observe(
        { gateway: gateway.name },
        (sentAt.getTime() - new Date(row.created_at).getTime()) / 1000,
      );
    } catch (error) {
      const failure =
        error instanceof GatewayError ? error : new GatewayError("error", (error as Error).message, false);
      await this.fail(row, gateway.name, failure);
    }
  }

  private async fail(row: OutboxRow, gatewayName: string, error: GatewayError): Promise<void> {
    const now = this.clock.now();
    const final = error.permanent || row.attempts >= this.options.maxAttempts;
    this.metrics.failures.inc({ gateway: gatewayName, reason: error.reason, final: String(final) });
    if (final) {
      const why = error.permanent
        ? error.message
        : `${error.message} (gave up after ${row.attempts} attempts)`;
      await outboxStore.transition(
        this.db,
        row.id,
        { status: "failed", gateway: gatewayName, last_error: why, lease_until: null, updated_at: now },
        why,
        ["sending"],
      );
      this.logger.warn({ messageId: row.id, gateway: gatewayName, reason: error.reason }, "message failed");
      return;
    }
    const delayMs = this.backoff(row.attempts);
    const next = new Date(now.getTime() + delayMs);
    await outboxStore.transition(
      this.db,
      row.id,
      {
        status: "queued",
        next_attempt_at: next,
        last_error: error.message,
        lease_until: null,
        updated_at: now,
      },
      `retry in ${Math.ceil(delayMs / 1000)} s: ${error.message}`,
      ["sending"],
    );
    await this.announce(row.id, row.channel, row.attempts, delayMs);
  }

  /** Exponential backoff with equal jitter: half the step fixed, half random, so retries spread out. */
  private backoff(attempts: number): number {
    const step = Math.min(this.options.retryMaxMs, this.options.retryBaseMs * 2 ** Math.max(0, attempts - 1));
    return Math.round(step / 2 + Math.random() * (step / 2));
  }

  /** A delivery receipt or status callback: delivered or failed, with the gateway's reason. */
  async applyReport(gatewayName: string, report: DeliveryReport): Promise<boolean> {
    const row = await outboxStore.findByGatewayId(this.db, gatewayName, report.gatewayMessageId);
    if (!row) return false;
    const now = this.clock.now();
    if (report.status === "delivered") {
      return outboxStore.transition(
        this.db,
        row.id,
        { status: "delivered", delivered_at: now, updated_at: now },
        `delivered (reported by ${gatewayName})`,
        ["sending", "sent"],
      );
    }
    if (report.status === "failed") {
      const reason = report.reason ?? "undelivered";
      this.metrics.failures.inc({ gateway: gatewayName, reason, final: "true" });
      return outboxStore.transition(
        this.db,
        row.id,
        { status: "failed", last_error: `${gatewayName}: ${reason}`, updated_at: now },
        `not delivered (reported by ${gatewayName}): ${reason}`,
        ["sending", "sent"],
      );
    }
    return true;
  }
}
