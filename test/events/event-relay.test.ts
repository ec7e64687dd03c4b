import { afterEach, describe, expect, it } from "vitest";
import { eventChannel, type PostgresEventRelay, startPostgresEventRelay } from "../../src/db/event-relay.js";
import { type DomainEvent, DomainEvents } from "../../src/events.js";
import { createTestDatabase, databaseKind, type TestDatabase } from "../support/database.js";
import { captureLogs } from "../support/logs.js";

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe.skipIf(databaseKind === "pglite")(
  "domain events over LISTEN/NOTIFY (PostgreSQL only; skipped on PGlite)",
  () => {
    let db: TestDatabase;
    const relays: PostgresEventRelay[] = [];
    afterEach(async () => {
      for (const relay of relays.splice(0)) await relay.close();
      await db?.destroy();
    });

    /** A process's events, relayed, and what its subscribers saw. */
    async function node() {
      const logs = captureLogs();
      const events = new DomainEvents(logs.logger);
      const seen: DomainEvent[] = [];
      events.subscribe((event) => {
        seen.push(event);
      });
      const relay = await startPostgresEventRelay({
        connectionString: db.url as string,
        knex: db.database.knex,
        events,
        logger: logs.logger,
      });
      relays.push(relay);
      events.relayTo(relay);
      return { events, seen, logs };
    }

    it("hands what one process publishes to the others once, and many events in several notifications", async () => {
      db = await createTestDatabase({ migrated: false });
      const a = await node();
      const b = await node();
      const many: DomainEvent[] = Array.from({ length: 400 }, (_, i) => ({
        type: "account.disabled",
        accountId: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
        reason: "a reason long enough to need more than one notification for all of them",
      }));
      await a.events.publish(many);
      await until(() => b.seen.length >= many.length, 5000);
      expect(b.seen).toEqual(many);
      // The publisher handled them itself, once: its own notifications are not handled again.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(a.seen).toEqual(many);
    });

    it("ignores notifications that are not domain events", async () => {
      db = await createTestDatabase({ migrated: false });
      const b = await node();
      for (const payload of [
        "not json",
        JSON.stringify({ origin: "x", events: [{ type: "account.disabled" }] }),
        JSON.stringify({ origin: "x", events: [{ type: "account.exploded", accountId: "1" }] }),
      ]) {
        await db.database.knex.raw("select pg_notify(?, ?)", [eventChannel, payload]);
      }
      const good = { type: "profile.changed", profileId: "p1" } as const;
      await db.database.knex.raw("select pg_notify(?, ?)", [
        eventChannel,
        JSON.stringify({ origin: "x", events: [good] }),
      ]);
      await until(() => b.seen.length > 0, 5000);
      expect(b.seen).toEqual([good]);
      expect(
        b.logs.lines().filter((line) => line.msg === "ignored a malformed domain event notification"),
      ).toHaveLength(3);
    });

    it("after losing its connection, listens again and tells every cache to start afresh", async () => {
      db = await createTestDatabase({ migrated: false });
      const a = await node();
      const b = await node();
      await db.database.knex.raw(
        "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'provisiond events' and datname = current_database()",
      );
      await until(() => b.seen.some((event) => event.type === "events.missed"), 10_000);
      expect(b.seen).toContainEqual({ type: "events.missed" });
      const later = { type: "account.deleted", accountId: "a1" } as const;
      await a.events.publish([later]);
      await until(() => b.seen.some((event) => event.type === "account.deleted"), 5000);
      expect(b.seen).toContainEqual(later);
    });
  },
);
