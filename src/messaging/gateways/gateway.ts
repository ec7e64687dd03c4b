/** What a gateway is handed: one message, with the key it can deduplicate retries on. */
export interface OutgoingMessage {
  id: string;
  idempotencyKey: string;
  to: string;
  text: string;
  subject: string | null;
  encoding: string | null;
}

/** A report a gateway sends later (HTTP status callback, SMPP delivery receipt). */
export interface DeliveryReport {
  gatewayMessageId: string;
  status: "sent" | "delivered" | "failed";
  reason?: string | undefined;
}

export interface Gateway {
  /** Its name in the outbox rows and the metrics: log, http, smpp, smtp. */
  readonly name: string;
  /** Hands the message over; resolves with the gateway's own id for it. */
  send(message: OutgoingMessage): Promise<{ gatewayMessageId: string | null }>;
  /** Where it reports delivery, when it does (set by delivery before the first send). */
  onReport?(listener: (report: DeliveryReport) => void): void;
  close(): Promise<void>;
}

/**
 * A refusal or a breakdown, with a short reason for the failure metrics and the message's
 * history. `permanent`: retrying cannot help (the gateway refused the number or the text).
 */
export class GatewayError extends Error {
  constructor(
    readonly reason: string,
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
  }
}
