import type { DeliveryReport, Gateway, OutgoingMessage } from "./gateway.js";
import { GatewayError } from "./gateway.js";

export interface HttpGatewayOptions {
  preset: "generic" | "twilio";
  url: string;
  method: "POST" | "PUT";
  username: string | null;
  password: string | null;
  bearerToken: string | null;
  from: string | null;
  bodyTemplate: string | null;
  messageIdField: string;
  timeoutMs: number;
  /** This server's status callback URL, or null when callbacks are off. */
  callbackUrl: string | null;
}

const genericBody =
  '{"to":{to},"text":{text},"from":{from},"idempotencyKey":{idempotencyKey},"callbackUrl":{callbackUrl}}';

/**
 * A generic HTTP SMS gateway: a JSON body from a template (each placeholder becomes a JSON
 * string), or the Twilio-style form API (To, From, Body, StatusCallback). 2xx is accepted,
 * 429 and 5xx and timeouts are retried, any other 4xx is the gateway refusing the message.
 */
export class HttpGateway implements Gateway {
  readonly name = "http";

  constructor(private readonly options: HttpGatewayOptions) {}

  async send(message: OutgoingMessage): Promise<{ gatewayMessageId: string | null }> {
    const o = this.options;
    const headers: Record<string, string> = { "idempotency-key": message.idempotencyKey };
    if (o.preset === "twilio") headers["i-twilio-idempotency-token"] = message.idempotencyKey;
    if (o.bearerToken) headers.authorization = `Bearer ${o.bearerToken}`;
    else if (o.username !== null) {
      headers.authorization = `Basic ${Buffer.from(`${o.username}:${o.password ?? ""}`).toString("base64")}`;
    }
    let body: string;
    if (o.preset === "twilio" && o.bodyTemplate === null) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      const form = new URLSearchParams({ To: message.to, Body: message.text });
      if (o.from) form.set("From", o.from);
      if (o.callbackUrl) form.set("StatusCallback", o.callbackUrl);
      body = form.toString();
    } else {
      headers["content-type"] = "application/json";
      const values: Record<string, string | null> = {
        to: message.to,
        text: message.text,
        from: o.from,
        idempotencyKey: message.idempotencyKey,
        callbackUrl: o.callbackUrl,
      };
      body = (o.bodyTemplate ?? genericBody).replace(/\{([A-Za-z]+)\}/g, (whole, name: string) =>
        name in values ? JSON.stringify(values[name]) : whole,
      );
    }
    let response: Response;
    try {
      response = await fetch(o.url, {
        method: o.method,
        headers,
        body,
        signal: AbortSignal.timeout(o.timeoutMs),
      });
    } catch (error) {
      const timedOut = (error as Error).name === "TimeoutError";
      throw new GatewayError(
        timedOut ? "timeout" : "unreachable",
        timedOut
          ? `no answer within ${o.timeoutMs} ms`
          : `cannot reach the gateway: ${(error as Error).message}`,
        false,
      );
    }
    const text = await response.text();
    if (!response.ok) {
      const retry = response.status === 429 || response.status >= 500;
      throw new GatewayError(
        `http_${response.status}`,
        `gateway answered ${response.status}: ${text.slice(0, 200)}`,
        !retry,
      );
    }
    const field = o.preset === "twilio" && o.messageIdField === "id" ? "sid" : o.messageIdField;
    let id: string | null = null;
    try {
      const parsed = JSON.parse(text) as Record<string, unknown>;
      const value = parsed[field];
      id = typeof value === "string" || typeof value === "number" ? String(value) : null;
    } catch {
      id = null;
    }
    return { gatewayMessageId: id };
  }

  async close(): Promise<void> {}
}

/** A status callback's fields, from the Twilio form (MessageSid, MessageStatus) or a generic JSON body. */
export function callbackReport(body: Record<string, unknown>): DeliveryReport | null {
  const id = body.MessageSid ?? body.SmsSid ?? body.id ?? body.messageId;
  const raw = String(body.MessageStatus ?? body.SmsStatus ?? body.status ?? "").toLowerCase();
  if (typeof id !== "string" || id === "") return null;
  const reason = body.ErrorCode ?? body.ErrorMessage ?? body.reason;
  const reasonText = reason === undefined || reason === null || reason === "" ? undefined : String(reason);
  if (raw === "delivered") return { gatewayMessageId: id, status: "delivered" };
  // Intermediate states (queued, accepted, sending, sent) change nothing we show.
  if (["sent", "queued", "accepted", "sending", "scheduled"].includes(raw)) {
    return { gatewayMessageId: id, status: "sent" };
  }
  if (raw === "failed" || raw === "undelivered" || raw === "rejected") {
    return { gatewayMessageId: id, status: "failed", reason: reasonText ?? raw };
  }
  return null;
}
