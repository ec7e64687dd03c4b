import type { Logger } from "./logger.js";

/**
 * Domain events: what happened to an account, or to the organisation, group or profile it works
 * under, for other capabilities (registrar, license proxy, PKI) to react to. Services collect
 * them inside a transaction and publish them after it commits, so a subscriber never sees a
 * change that was rolled back. A failing subscriber is logged and does not fail the change that
 * caused the event. With a relay (PostgreSQL LISTEN/NOTIFY), every other process sharing the
 * database receives them too.
 */
export type DomainEvent =
  | { type: "account.created"; accountId: string; username: string; sipDomain: string }
  | { type: "account.disabled"; accountId: string; reason: string }
  | { type: "account.enabled"; accountId: string }
  | { type: "account.deleted"; accountId: string }
  | { type: "account.passwordChanged"; accountId: string }
  | { type: "account.identityChanged"; accountId: string; username: string; sipDomain: string }
  /**
   * Moved to another group of its organisation: whether it works now follows the new group
   * (caches that keep the account with its group's standing drop it).
   */
  | { type: "account.moved"; accountId: string; groupId: string; previousGroupId: string }
  /** Its active flag changed; `active` is the organisation's flag after the change. */
  | { type: "organisation.changed"; organisationId: string; active: boolean }
  /**
   * Active flag, parent or default profile changed: the accounts of its subtree may work
   * differently. `active`: whether they can work now (the group, those above it, its organisation).
   */
  | { type: "group.changed"; groupId: string; organisationId: string; active: boolean }
  | { type: "profile.changed"; profileId: string }
  /** Events from other processes may have been lost (the relay reconnected): drop every cache. */
  | { type: "events.missed" };

export type DomainEventHandler = (event: DomainEvent) => void | Promise<void>;

/** Carries published events to the other processes on the same database. */
export interface EventRelay {
  send(events: readonly DomainEvent[]): Promise<void>;
}

export class DomainEvents {
  private readonly handlers: DomainEventHandler[] = [];
  private relay: EventRelay | null = null;

  constructor(private readonly logger: Logger) {}

  /** From now on, what is published here is also sent to the other processes. */
  relayTo(relay: EventRelay | null): void {
    this.relay = relay;
  }

  subscribe(handler: DomainEventHandler): () => void {
    this.handlers.push(handler);
    return () => {
      const index = this.handlers.indexOf(handler);
      if (index >= 0) this.handlers.splice(index, 1);
    };
  }

  /** Handles the events in this process, then sends them to the others. */
  async publish(events: readonly DomainEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.deliver(events);
    if (!this.relay) return;
    try {
      await this.relay.send(events);
    } catch (error) {
      // The change is committed; the other processes learn of it when their caches expire.
      this.logger.error({ err: error, events: events.length }, "domain events could not be relayed");
    }
  }

  /** Handles events in this process only (what the relay received from another process). */
  async deliver(events: readonly DomainEvent[]): Promise<void> {
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
