import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { Outbox } from "../../src/messaging/outbox.js";
import { packageRoot } from "../../src/package-info.js";
import { listeningUrl, runCli } from "../support/cli.js";
import { createTestDatabase, databaseKind, type TestDatabase } from "../support/database.js";
import { startFakeHttpGateway, waitFor } from "./support.js";

type Json = { [key: string]: unknown };
const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const merged = (base: Json, changes: Json): Json =>
  Object.fromEntries(
    [...new Set([...Object.keys(base), ...Object.keys(changes)])].map((key) => {
      const [a, b] = [base[key], changes[key]];
      return [key, isObject(a) && isObject(b) ? merged(a, b) : key in changes ? b : a];
    }),
  );

/** A config folder for the child: the defaults with these changes merged in. */
function configDir(changes: Json): string {
  const dir = mkdtempSync(join(tmpdir(), "provisiond-crash-"));
  const defaults = JSON.parse(readFileSync(join(packageRoot, "config", "default.json"), "utf8")) as Json;
  writeFileSync(join(dir, "default.json"), JSON.stringify(merged(defaults, changes)));
  return dir;
}

describe.skipIf(databaseKind !== "postgres").each(["in-process", "bullmq"])(
  "a worker process killed mid-delivery (%s queue, PostgreSQL)",
  (mode) => {
    let db: TestDatabase;
    let gateway: Awaited<ReturnType<typeof startFakeHttpGateway>>;
    let dir: string;

    beforeAll(async () => {
      db = await createTestDatabase();
      gateway = await startFakeHttpGateway();
      dir = configDir({
        http: { host: "127.0.0.1", port: 0 },
        sip: { enabled: false },
        secrets: { credentialKey: "7465737420637265640000000000000000000000000000000000000000000001" },
        redis: { url: mode === "bullmq" ? "redis://127.0.0.1:6379" : null },
        messaging: {
          leaseSeconds: 2,
          sweepMs: 100,
          queuePrefix: `provisiond-crash-${process.pid}-${Date.now()}`,
          sms: { gateway: "http", timeoutMs: 30_000, http: { url: gateway.url } },
        },
      });
    });
    afterAll(async () => {
      await gateway.close();
      await db.destroy();
      rmSync(dir, { recursive: true, force: true });
    });

    it("is delivered after restart, exactly once as the gateway sees it by its idempotency key", {
      timeout: 120_000,
    }, async () => {
      const env = { DATABASE_URL: db.url as string, PROVISIOND_CONFIG_DIR: dir, NODE_ENV: "production" };
      const to = `+4179${Date.now() % 10_000_000}`;
      gateway.behave(to, "hang");
      const first = runCli(["serve"], env);
      await listeningUrl(first);
      const { id } = await db.database.knex.transaction((trx) =>
        new Outbox(new ManualClock(new Date(Date.now() - 1000))).enqueue(trx, {
          channel: "sms",
          kind: "installation_sms",
          recipient: to,
          text: "install the app: https://example.net/i/abc",
          encoding: "GSM-7",
          segments: 1,
        }),
      );
      // The gateway has the message and the worker waits for its answer: kill it now.
      await waitFor(
        () => gateway.requests.some((r) => r.json?.to === to),
        "the gateway to receive the message",
      );
      first.child.kill("SIGKILL");
      await first.exited;
      const row = await db.database.knex("outbox_messages").where({ id }).first();
      expect(row.status).toBe("sending");

      gateway.behave(to, "accept");
      const second = runCli(["serve"], env);
      try {
        await listeningUrl(second);
        const sent = await waitFor(
          async () => {
            const current = await db.database.knex("outbox_messages").where({ id }).first();
            return current.status === "sent" ? current : undefined;
          },
          "the message sent after restart",
          30_000,
        );
        const requests = gateway.requests.filter((r) => r.json?.to === to);
        expect(requests.length).toBeGreaterThanOrEqual(2);
        expect(new Set(requests.map((r) => r.headers["idempotency-key"]))).toEqual(
          new Set([row.idempotency_key]),
        );
        expect(sent.gateway_message_id).toBe(gateway.gatewayIdOf(row.idempotency_key));
        expect(sent.attempts).toBe(2);
      } finally {
        second.child.kill("SIGTERM");
        await second.exited;
      }
    });
  },
);
