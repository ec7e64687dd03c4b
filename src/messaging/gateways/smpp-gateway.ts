import * as smpp from "smpp";
import type { Logger } from "../../logger.js";
import type { DeliveryReport, Gateway, OutgoingMessage } from "./gateway.js";
import { GatewayError } from "./gateway.js";

export interface SmppGatewayOptions {
  url: string;
  systemId: string;
  password: string;
  sourceAddr: string;
  enquireLinkSeconds: number;
  reconnectMaxMs: number;
  timeoutMs: number;
}

// SMPP command statuses worth retrying: the SMSC is busy or broken, not refusing the message.
const transientStatuses = new Set([0x08, 0x14, 0x58, 0x64]); // RSYSERR, RMSGQFUL, RTHROTTLED, RX_T_APPN

/**
 * An SMPP 3.4/5.0 transceiver: one bound session, `submit_sm` per message, delivery receipts
 * from `deliver_sm`, enquire_link keep-alive, and a reconnect with doubling backoff when the
 * SMSC drops the session. A message sent while unbound fails transiently and is retried.
 */
export class SmppGateway implements Gateway {
  readonly name = "smpp";
  private session: smpp.Session | null = null;
  private bound: Promise<smpp.Session> | null = null;
  private reconnectDelayMs = 100;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private reportListener: ((report: DeliveryReport) => void) | null = null;

  constructor(
    private readonly options: SmppGatewayOptions,
    private readonly logger: Logger,
  ) {}

  onReport(listener: (report: DeliveryReport) => void): void {
    this.reportListener = listener;
  }

  async send(message: OutgoingMessage): Promise<{ gatewayMessageId: string }> {
    const session = await this.connected();
    const fields: Record<string, unknown> = {
      source_addr: this.options.sourceAddr,
      destination_addr: message.to.replace(/^\+/, ""),
      registered_delivery: 1,
      // UCS-2 is data_coding 8; GSM-7 goes as the SMSC default alphabet.
      data_coding: message.encoding === "UCS-2" ? 0x08 : 0x00,
    };
    // short_message holds 254 octets; longer texts go whole in the message_payload TLV.
    if (Buffer.byteLength(message.text, message.encoding === "UCS-2" ? "utf16le" : "latin1") > 254) {
      fields.message_payload = message.text;
    } else {
      fields.short_message = message.text;
    }
    const pdu = await new Promise<smpp.PDU>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(new GatewayError("timeout", `no submit_sm_resp within ${this.options.timeoutMs} ms`, false)),
        this.options.timeoutMs,
      );
      const sent = session.submit_sm(fields, (response) => {
        clearTimeout(timer);
        resolve(response);
      });
      if (!sent) {
        clearTimeout(timer);
        reject(new GatewayError("unbound", "the SMPP session is not writable", false));
      }
    });
    if (pdu.command_status !== 0) {
      const status = `0x${pdu.command_status.toString(16).padStart(8, "0")}`;
      throw new GatewayError(
        `smpp_${status}`,
        `the SMSC refused submit_sm with status ${status}`,
        !transientStatuses.has(pdu.command_status),
      );
    }
    return { gatewayMessageId: String(pdu.message_id ?? "") };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const session = this.session;
    this.session = null;
    if (!session) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => session.destroy(() => resolve()), 500);
      const done = () => {
        clearTimeout(timer);
        session.close(() => resolve());
      };
      if (!session.unbind({}, done)) done();
    });
  }

  /** The bound session, binding (again) when there is none. */
  private connected(): Promise<smpp.Session> {
    if (this.closed) return Promise.reject(new GatewayError("closed", "the SMPP gateway is closed", false));
    this.bound ??= this.bind().catch((error: unknown) => {
      this.bound = null;
      throw error instanceof GatewayError
        ? error
        : new GatewayError("unbound", `cannot bind to the SMSC: ${(error as Error).message}`, false);
    });
    return this.bound;
  }

  private bind(): Promise<smpp.Session> {
    const url = new URL(this.options.url);
    return new Promise<smpp.Session>((resolve, reject) => {
      const session = smpp.connect({
        host: url.hostname.replace(/^\[|\]$/g, ""),
        port: Number(url.port || 2775),
        tls: url.protocol === "smpps:",
        auto_enquire_link_period: this.options.enquireLinkSeconds * 1000,
      });
      let settled = false;
      session.on("error", (error: Error) => {
        this.logger.warn({ gateway: this.name, err: error }, "SMPP session error");
        if (!settled) {
          settled = true;
          reject(error);
        }
      });
      session.on("close", () => {
        if (this.session === session) this.session = null;
        this.bound = null;
        this.scheduleReconnect();
      });
      session.on("deliver_sm", (pdu: smpp.PDU) => {
        session.send(pdu.response());
        const report = deliveryReceipt(pdu);
        if (report) this.reportListener?.(report);
      });
      session.on("enquire_link", (pdu: smpp.PDU) => session.send(pdu.response()));
      session.on("connect", () => {
        session.bind_transceiver(
          { system_id: this.options.systemId, password: this.options.password },
          (pdu) => {
            settled = true;
            if (pdu.command_status !== 0) {
              reject(
                new GatewayError("bind_refused", `the SMSC refused the bind (${pdu.command_status})`, false),
              );
              session.destroy();
              return;
            }
            this.session = session;
            this.reconnectDelayMs = 100;
            this.logger.info({ gateway: this.name }, "SMPP transceiver bound");
            resolve(session);
          },
        );
      });
    });
  }

  /** Binds again after a drop, so receipts keep arriving even when nothing is being sent. */
  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    const delay = this.reconnectDelayMs;
    this.reconnectDelayMs = Math.min(this.reconnectDelayMs * 2, this.options.reconnectMaxMs);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connected().catch(() => this.scheduleReconnect());
    }, delay);
    this.reconnectTimer.unref();
  }
}

/** A delivery receipt: the receipted_message_id TLV, or the `id:... stat:...` text of SMPP 3.4 appendix B. */
export function deliveryReceipt(pdu: smpp.PDU): DeliveryReport | null {
  const esmClass = Number(pdu.esm_class ?? 0);
  if ((esmClass & 0x04) === 0) return null;
  const text = shortMessageText(pdu.short_message);
  const id =
    typeof pdu.receipted_message_id === "string" ? pdu.receipted_message_id : /id:(\S+)/.exec(text)?.[1];
  if (!id) return null;
  const stat = /stat:(\w+)/.exec(text)?.[1] ?? "";
  const err = /err:(\w+)/.exec(text)?.[1];
  if (stat === "DELIVRD") return { gatewayMessageId: id, status: "delivered" };
  if (stat === "ENROUTE" || stat === "ACCEPTD" || stat === "") return null;
  return {
    gatewayMessageId: id,
    status: "failed",
    reason: err && err !== "000" ? `${stat} err:${err}` : stat,
  };
}

function shortMessageText(value: unknown): string {
  if (typeof value === "string") return value;
  if (value && typeof value === "object" && "message" in value)
    return String((value as { message: unknown }).message);
  if (Buffer.isBuffer(value)) return value.toString("latin1");
  return "";
}
