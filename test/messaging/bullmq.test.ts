import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningServer, startServer } from "../../src/main.js";
import { type AccountBody, createTenant, type Tenant } from "../accounts/fixtures.js";
import { type ApiClient, apiClient } from "../support/api.js";
import { testConfig } from "../support/config.js";
import { databaseKind } from "../support/database.js";
import { captureLogs } from "../support/logs.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { freePort, startOwnRedis } from "./redis-server.js";
import { type MessageBody, messagesOf, startFakeHttpGateway, waitFor } from "./support.js";

const prefix = () => `provisiond-test-${process.pid}-${randomBytes(4).toString("hex")}`;
const httpGateway = (url: string) => ({ gateway: "http", http: { url } });

async function sendMany(op: ApiClient, tenant: Tenant, count: number, first: number): Promise<AccountBody[]> {
  const accounts: AccountBody[] = [];
  for (let i = 0; i < count; i++) {
    const account = await op.ok<AccountBody>("POST", "/api/v1/accounts", {
      groupId: tenant.groupId,
      type: "PGSM",
      mode: "wizard",
      phoneNumber: `+4179${String(first + i).padStart(7, "0")}`,
    });
    await op.ok<MessageBody>("POST", `/api/v1/accounts/${account.id}/installation-sms`);
    accounts.push(account);
  }
  return accounts;
}

async function statusesOf(op: ApiClient, accounts: AccountBody[]): Promise<string[]> {
  const statuses: string[] = [];
  for (const account of accounts) statuses.push(...(await messagesOf(op, account.id)).map((m) => m.status));
  return statuses;
}

describe(`BullMQ on Redis, on ${databaseKind}`, () => {
  let gateway: Awaited<ReturnType<typeof startFakeHttpGateway>>;

  beforeAll(async () => {
    gateway = await startFakeHttpGateway();
  });
  afterAll(() => gateway.close());

  it("two processes on one database and one Redis deliver each message once between them", {
    timeout: 120_000,
  }, async () => {
    const queuePrefix = prefix();
    const messaging = { queuePrefix, sweepMs: 100, sms: httpGateway(gateway.url) };
    const t: TestServer = await startTestServer({
      config: { redis: { url: "redis://127.0.0.1:6379" }, messaging },
    });
    // A second provisiond on the same database and Redis: it competes for the same jobs.
    const second: RunningServer = await startServer({
      config: testConfig({ redis: { url: "redis://127.0.0.1:6379" }, messaging }),
      logger: captureLogs().logger,
      database: t.db.database,
    });
    try {
      expect(t.server.messaging.queue.kind).toBe("bullmq");
      const op = apiClient(t.url, t.operatorToken);
      const tenant = await createTenant(op);
      const before = gateway.requests.length;
      const accounts = await sendMany(op, tenant, 30, 1000);
      await waitFor(async () => (await statusesOf(op, accounts)).every((s) => s === "sent"), "all 30 sent");
      await new Promise((resolve) => setTimeout(resolve, 300));
      const requests = gateway.requests.slice(before);
      expect(requests).toHaveLength(30);
      expect(new Set(requests.map((r) => r.headers["idempotency-key"])).size).toBe(30);
    } catch (error) {
      console.log(
        t.logs
          .lines()
          .filter((l) => Number(l.level) >= 40)
          .slice(0, 20),
      );
      throw error;
    } finally {
      await second.close();
      await t.stop();
    }
  });

  it("Redis stopped while messages are queued: nothing is lost, all are delivered once it is back", {
    timeout: 120_000,
  }, async () => {
    const port = await freePort();
    let redis = await startOwnRedis(port);
    const t = await startTestServer({
      config: {
        redis: { url: `redis://127.0.0.1:${port}` },
        messaging: { queuePrefix: prefix(), sweepMs: 100, sms: httpGateway(gateway.url) },
      },
    });
    try {
      const op = apiClient(t.url, t.operatorToken);
      const tenant = await createTenant(op);
      const before = gateway.requests.length;
      await sendMany(op, tenant, 3, 2000);
      await waitFor(() => gateway.requests.length - before >= 3, "the first three sent");

      await redis.stop();
      // Queued while Redis is away: the actions still succeed, the messages wait in the outbox.
      const waiting = await sendMany(op, tenant, 10, 3000);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(new Set(await statusesOf(op, waiting))).toEqual(new Set(["queued"]));

      redis = await startOwnRedis(port);
      await waitFor(
        async () => (await statusesOf(op, waiting)).every((s) => s === "sent"),
        "all sent after Redis is back",
        60_000,
      );
      const keys = gateway.requests.slice(before).map((r) => r.headers["idempotency-key"]);
      expect(new Set(keys).size).toBe(13);
    } finally {
      await t.stop();
      await redis.stop();
    }
  });
});
