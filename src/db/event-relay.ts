import { randomUUID } from "node:crypto";
import type { Knex } from "knex";
import pg from "pg";
import { z } from "zod";
import type { DomainEvent, DomainEvents, EventRelay } from "../events.js";
import type { Logger } from "../logger.js";

/** The PostgreSQL channel domain events travel on between processes sharing one database. */
export const eventChannel = "provisiond_events";

/** NOTIFY payloads must stay under 8000 bytes; events are sent in notifications below this. */
const maxPayloadBytes = 7000;
const reconnectDelaysMs = [250, 1000, 2000, 5000, 10_000];

interface Envelope {
  /** The process that sent it: a process ignores its own notifications (it handled them already). */
  origin: string;
  events: DomainEvent[];
}

export interface PostgresEventRelay extends EventRelay {
  close(): Promise<void>;
}

/**
 * Domain events between the processes on one PostgreSQL, over LISTEN/NOTIFY: what one process
 * publishes (after its commit) is handled by every other within milliseconds, so a disable on
 * one node drops the registrations and cached credentials held by another at once. The listener
 * has a connection of its own; when it is lost, the events sent meanwhile are lost too, so after
 * reconnecting it delivers `events.missed` and every cache starts afresh.
 */
export async function startPostgresEventRelay(options: {
  connectionString: string;
  knex: Knex;
  events: DomainEvents;
  logger: Logger;
}): Promise<PostgresEventRelay> {
  const { events, logger } = options;
  const origin = randomUUID();
  let client: pg.Client | null = null;
  let closed = false;
  let attempt = 0;
  let retry: NodeJS.Timeout | undefined;
  // Delivered one notification after the other, in the order PostgreSQL sends them: a disable
  // followed by an enable must not be handled the other way round.
  let delivering: Promise<void> = Promise.resolve();
  const deliverInOrder = (list: DomainEvent[]) => {
    delivering = delivering.then(() => events.deliver(list));
    return delivering;
  };

  const receive = (message: pg.Notification) => {
    if (message.channel !== eventChannel || !message.payload) return;
    const received = parseEnvelope(message.payload);
    if (!received) {
      logger.warn({ channel: eventChannel }, "ignored a malformed domain event notification");
      return;
    }
    if (received.origin === origin) return;
    void deliverInOrder(received.events);
  };

  const connect = async (): Promise<void> => {
    const next = new pg.Client({
      connectionString: options.connectionString,
      application_name: "provisiond events",
    });
    next.on("notification", receive);
    next.on("error", (error) => {
      logger.warn({ err: error }, "the domain event listener lost its database connection");
      lost(next);
    });
    next.on("end", () => lost(next));
    await next.connect();
    await next.query(`listen ${eventChannel}`);
    if (closed) {
      await next.end().catch(() => undefined);
      return;
    }
    client = next;
  };

  const lost = (which: pg.Client) => {
    if (client !== which || closed) return;
    client = null;
    which.end().catch(() => undefined);
    scheduleReconnect();
  };

  const scheduleReconnect = () => {
    if (closed || retry) return;
    const delay = reconnectDelaysMs[Math.min(attempt, reconnectDelaysMs.length - 1)] ?? 10_000;
    attempt++;
    retry = setTimeout(() => {
      retry = undefined;
      connect()
        .then(() => {
          if (!client) return;
          attempt = 0;
          logger.info("the domain event listener is back; caches start afresh");
          return deliverInOrder([{ type: "events.missed" }]);
        })
        .catch((error: unknown) => {
          logger.warn({ err: error, attempt }, "the domain event listener could not reconnect");
          scheduleReconnect();
        });
    }, delay);
    retry.unref();
  };

  await connect();
  logger.info({ channel: eventChannel }, "domain events are relayed between processes (LISTEN/NOTIFY)");

  return {
    async send(list: readonly DomainEvent[]): Promise<void> {
      for (const payload of payloads(origin, list)) {
        await options.knex.raw("select pg_notify(?, ?)", [eventChannel, payload]);
      }
    },
    async close(): Promise<void> {
      closed = true;
      clearTimeout(retry);
      const current = client;
      client = null;
      await current?.end().catch(() => undefined);
    },
  };
}

/** The events in as few notifications as fit the payload limit (each event is encoded once). */
function payloads(origin: string, list: readonly DomainEvent[]): string[] {
  const head = `{"origin":${JSON.stringify(origin)},"events":[`;
  const result: string[] = [];
  let batch: string[] = [];
  let bytes = head.length + 2;
  for (const event of list) {
    const encoded = JSON.stringify(event);
    const size = Buffer.byteLength(encoded) + 1;
    if (batch.length > 0 && bytes + size > maxPayloadBytes) {
      result.push(`${head}${batch.join(",")}]}`);
      batch = [];
      bytes = head.length + 2;
    }
    batch.push(encoded);
    bytes += size;
  }
  if (batch.length > 0) result.push(`${head}${batch.join(",")}]}`);
  return result;
}

const id = z.string().min(1).max(100);
/** Every DomainEvent, as it may arrive from the channel. */
const eventSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("account.created"),
    accountId: id,
    username: z.string(),
    sipDomain: z.string(),
  }),
  z.object({ type: z.literal("account.disabled"), accountId: id, reason: z.string() }),
  z.object({ type: z.literal("account.enabled"), accountId: id }),
  z.object({ type: z.literal("account.deleted"), accountId: id }),
  z.object({ type: z.literal("account.passwordChanged"), accountId: id }),
  z.object({
    type: z.literal("account.identityChanged"),
    accountId: id,
    username: z.string(),
    sipDomain: z.string(),
  }),
  z.object({ type: z.literal("account.moved"), accountId: id, groupId: id, previousGroupId: id }),
  z.object({ type: z.literal("organisation.changed"), organisationId: id, active: z.boolean() }),
  z.object({ type: z.literal("group.changed"), groupId: id, organisationId: id, active: z.boolean() }),
  z.object({ type: z.literal("profile.changed"), profileId: id }),
  z.object({ type: z.literal("events.missed") }),
]) satisfies z.ZodType<DomainEvent>;
const envelopeSchema = z.object({ origin: z.string(), events: z.array(eventSchema) });

/** An envelope from the channel, or null when it is not one: anyone with database access can NOTIFY. */
function parseEnvelope(payload: string): Envelope | null {
  try {
    const parsed = envelopeSchema.safeParse(JSON.parse(payload));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
