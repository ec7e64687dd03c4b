import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { openPostgres } from "../../src/db/database.js";
import { type RunningServer, startServer } from "../../src/main.js";
import { apiClient } from "../support/api.js";
import { testConfig } from "../support/config.js";
import { createTestDatabase, databaseKind, type TestDatabase } from "../support/database.js";
import { captureLogs } from "../support/logs.js";
import { createAccount, createWorld, getAccount, moveTo, type Outcome } from "./fixture.js";

/**
 * The schedule as the job queue runs it: on its own every interval, once at start (the catch-up
 * after downtime), on BullMQ, and with two servers on one PostgreSQL database.
 */
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function serve(
  database: TestDatabase,
  clock: ManualClock,
  config: Record<string, unknown>,
): Promise<{ server: RunningServer; token: string | null; logs: ReturnType<typeof captureLogs> }> {
  const logs = captureLogs();
  let token: string | null = null;
  const server = await startServer({
    config: testConfig(config),
    logger: logs.logger,
    database: database.database,
    clock,
    onInitialToken: (issued) => {
      token = issued.token;
    },
  });
  return { server, token, logs };
}

const poll = { timeout: 60_000, interval: 100 };

describe("the subscription schedule on the job queue", () => {
  it("runs on its own every interval, and a server started after a downtime catches up at once", async () => {
    const database = await createTestDatabase({ migrated: false });
    cleanups.push(() => database.destroy());
    const clock = new ManualClock(new Date("2027-01-10T08:00:00Z"));
    const first = await serve(database, clock, { subscriptions: { scheduleIntervalMs: 100 } });
    let running: RunningServer | null = first.server;
    cleanups.push(async () => {
      await running?.close();
    });
    const op = apiClient(first.server.url, first.token as string);
    const world = await createWorld(first.server.url, op);
    const leaving = await createAccount(op, world.groupG);
    await world.users.groupAdmin.client.ok<Outcome>(
      "POST",
      `/api/v1/accounts/${leaving.id}/deactivation-request`,
    );
    const yearly = await createAccount(op, world.groupG, { billingPlan: "yearly", renewsOn: "2027-02-01" });

    // Nobody calls the schedule: the queue's interval does.
    moveTo(clock, "2027-01-31");
    await expect.poll(async () => (await getAccount(op, leaving.id)).status, poll).toBe("disabled");
    expect((await getAccount(op, leaving.id)).subscription.state).toBe("ended");
    expect((await getAccount(op, yearly.id)).subscription.renewsOn).toBe("2027-02-01");

    // Down over two renewal dates; the next start runs the schedule at once (its interval is an hour).
    await first.server.close();
    running = null;
    moveTo(clock, "2029-03-01");
    const second = await serve(database, clock, { subscriptions: { scheduleIntervalMs: 3_600_000 } });
    running = second.server;
    const op2 = apiClient(second.server.url, first.token as string);
    await expect
      .poll(async () => (await getAccount(op2, yearly.id)).subscription.renewsOn, poll)
      .toBe("2030-02-01");
    expect((await getAccount(op2, yearly.id)).subscription.renewedWithoutNotice).toBe(true);
  }, 240_000);

  it("runs on BullMQ with Redis", async () => {
    const database = await createTestDatabase({ migrated: false });
    cleanups.push(() => database.destroy());
    const clock = new ManualClock(new Date("2027-04-10T08:00:00Z"));
    const { server, token } = await serve(database, clock, {
      redis: { url: "redis://127.0.0.1:6379" },
      messaging: { queuePrefix: `provisiond-test-${process.pid}-${randomBytes(4).toString("hex")}` },
      subscriptions: { scheduleIntervalMs: 200 },
    });
    cleanups.push(() => server.close());
    expect(server.messaging.queue.kind).toBe("bullmq");
    const op = apiClient(server.url, token as string);
    const world = await createWorld(server.url, op);
    const leaving = await createAccount(op, world.groupG);
    await op.ok("POST", `/api/v1/accounts/${leaving.id}/deactivation-request`);
    moveTo(clock, "2027-04-30");
    await expect.poll(async () => (await getAccount(op, leaving.id)).status, poll).toBe("disabled");
    expect((await getAccount(op, leaving.id)).disabledReason).toBe("subscription ended");
  }, 240_000);
});

describe.skipIf(databaseKind === "pglite")(
  "two servers on one PostgreSQL database (PostgreSQL only; skipped on PGlite)",
  () => {
    it("send each week's reminder once and renew once, however their runs overlap", async () => {
      const database = await createTestDatabase({ migrated: false });
      cleanups.push(() => database.destroy());
      const clock = new ManualClock(new Date("2027-07-01T08:00:00Z"));
      const a = await serve(database, clock, { subscriptions: { scheduleIntervalMs: 3_600_000 } });
      cleanups.push(() => a.server.close());
      // The second server has its own connection pool, as another process would.
      const ownPool = openPostgres(database.url as string, 4);
      cleanups.push(() => ownPool.close());
      const logs = captureLogs();
      const b = await startServer({
        config: testConfig({ subscriptions: { scheduleIntervalMs: 3_600_000 } }),
        logger: logs.logger,
        database: ownPool,
        clock,
      });
      cleanups.push(() => b.close());
      const op = apiClient(a.server.url, a.token as string);
      const world = await createWorld(a.server.url, op);
      const account = await createAccount(op, world.groupG, {
        billingPlan: "quarterly",
        renewsOn: "2027-07-20",
      });
      for (const day of [
        "2027-07-01",
        "2027-07-02",
        "2027-07-06",
        "2027-07-09",
        "2027-07-13",
        "2027-07-19",
        "2027-07-20",
      ]) {
        moveTo(clock, day);
        await Promise.all([
          a.server.subscriptions.schedule.run(),
          b.subscriptions.schedule.run(),
          a.server.subscriptions.schedule.run(),
          b.subscriptions.schedule.run(),
        ]);
      }
      const messages = await op.ok<{ items: Array<{ kind: string; to: string }> }>(
        "GET",
        `/api/v1/accounts/${account.id}/messages?limit=100`,
      );
      const reminders = messages.items.filter((m) => m.kind === "renewal_reminder");
      // 20 July is 19 days after 1 July: weeks 2, 3 and 4 of the 4, to 3 recipients each.
      expect(reminders).toHaveLength(3 * 3);
      for (const email of [
        world.users.companyAdmin.email,
        world.users.groupAdmin.email,
        world.users.supervisor.email,
      ]) {
        expect(reminders.filter((m) => m.to === email)).toHaveLength(3);
      }
      const renewed = await getAccount(op, account.id);
      expect(renewed.subscription.renewsOn).toBe("2027-10-20");
      const events = await op.ok<{ items: Array<{ action: string }> }>(
        "GET",
        `/api/v1/accounts/${account.id}/events?pageSize=100`,
      );
      expect(events.items.filter((e) => e.action === "subscription.renewed")).toHaveLength(1);
    }, 240_000);
  },
);
