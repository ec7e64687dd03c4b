import type { Logger } from "./logger.js";

/**
 * Domain events: what happened to an account, for other capabilities (registrar, PKI) to react
 * to. Services collect them inside a transaction and publish them after it commits, so a
 * subscriber never sees a change that was rolled back. A failing subscriber is logged and does
 * not fail the change that caused the event.
 */
export type DomainEvent =
  | { type: "account.created"; accountId: string; username: string; sipDomain: string }
  | { type: "account.disabled"; accountId: string; reason: string }
  | { type: "account.enabled"; accountId: string }
  | { type: "account.deleted"; accountId: string }
  | { type: "account.passwordChanged"; accountId: string }
  | { type: "account.identityChanged"; accountId: string; username: string; sipDomain: string }
  /** A profile was created, changed or deleted: what its realm accepts may have changed. */
  | { type: "profile.changed"; profileId: string };

export type DomainEventHandler = (event: DomainEvent) => void | Promise<void>;

export class DomainEvents {
  private readonly handlers: DomainEventHandler[] = [];

  constructor(private readonly logger: Logger) {}

  subscribe(handler: DomainEventHandler): () => void {
    this.handlers.push(handler);
    return () => {
      const index = this.handlers.indexOf(handler);
      if (index >= 0) this.handlers.splice(index, 1);
    };
  }

  async publish(events: readonly DomainEvent[]): Promise<void> {
    for (const event of events) {
      for (const handler of this.handlers) {
        try {
          await handler(event);
        } catch (error) {
          this.logger.error(
            {
              err: error,
              event: event.type,
              ...("accountId" in event ? { accountId: event.accountId } : {}),
            },
            "event subscriber failed",
          );
        }
      }
    }
  }
}
