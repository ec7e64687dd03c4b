import { createTransport, type Transporter } from "nodemailer";
import type { Logger } from "../../logger.js";
import type { Gateway, OutgoingMessage } from "./gateway.js";
import { GatewayError } from "./gateway.js";

/**
 * E-mail through nodemailer: SMTP in production, or the log (nodemailer's JSON transport, so
 * the message is built exactly as it would be sent, then logged instead).
 */
export class EmailGateway implements Gateway {
  readonly name: string;
  private readonly transport: Transporter;

  constructor(
    options: { transport: "log" | "smtp"; smtpUrl: string | null; from: string; timeoutMs: number },
    private readonly logger: Logger,
  ) {
    this.from = options.from;
    this.name = options.transport === "smtp" ? "smtp" : "email-log";
    this.transport =
      options.transport === "smtp" && options.smtpUrl
        ? createTransport({
            url: options.smtpUrl,
            connectionTimeout: options.timeoutMs,
            greetingTimeout: options.timeoutMs,
            socketTimeout: options.timeoutMs,
          } as Parameters<typeof createTransport>[0])
        : createTransport({ jsonTransport: true });
  }
  private readonly from: string;

  async send(message: OutgoingMessage): Promise<{ gatewayMessageId: string | null }> {
    try {
      const info = await this.transport.sendMail({
        from: this.from,
        to: message.to,
        subject: message.subject ?? "",
        text: message.text,
        // A stable Message-ID lets the receiving side recognise a retried message as the same one.
        messageId: `<${message.idempotencyKey}@provisiond>`,
        headers: { "X-Idempotency-Key": message.idempotencyKey },
      });
      if (this.name === "email-log") {
        this.logger.info(
          {
            gateway: this.name,
            messageId: message.id,
            to: message.to,
            subject: message.subject,
            text: message.text,
          },
          "e-mail written to the log instead of being sent",
        );
      }
      return { gatewayMessageId: typeof info.messageId === "string" ? info.messageId : null };
    } catch (error) {
      const responseCode = (error as { responseCode?: number }).responseCode;
      // SMTP 5xx is the server refusing this message for good; everything else may pass later.
      const permanent = typeof responseCode === "number" && responseCode >= 500;
      throw new GatewayError(
        responseCode ? `smtp_${responseCode}` : "smtp_unreachable",
        `e-mail not accepted: ${(error as Error).message}`,
        permanent,
      );
    }
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}
