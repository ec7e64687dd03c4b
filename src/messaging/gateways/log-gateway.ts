import type { Logger } from "../../logger.js";
import type { Gateway, OutgoingMessage } from "./gateway.js";

/** The default: the text goes to the log and nothing leaves the machine. */
export class LogGateway implements Gateway {
  constructor(
    readonly name: string,
    private readonly logger: Logger,
  ) {}

  async send(message: OutgoingMessage): Promise<{ gatewayMessageId: string }> {
    this.logger.info(
      {
        gateway: this.name,
        messageId: message.id,
        to: message.to,
        subject: message.subject ?? undefined,
        text: message.text,
      },
      "message written to the log instead of being sent",
    );
    return { gatewayMessageId: `log-${message.idempotencyKey}` };
  }

  async close(): Promise<void> {}
}
