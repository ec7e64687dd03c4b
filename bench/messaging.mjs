#!/usr/bin/env node
// Messages queued and delivered per second through each queue mode (in-process on the embedded
// database; BullMQ on Redis at BENCH_REDIS_URL, default redis://127.0.0.1:6379) against a local
// HTTP SMS gateway (node:http in a process of its own, answering 201 with an id), and, in the same
// run, a bare loop that posts the same requests (same JSON body, same Idempotency-Key header, same
// concurrency as messaging.concurrency) to the same gateway. provisiond runs compiled, in this
// process; each message is written to the outbox in a transaction of its own, as an action does,
// and counts as delivered when its row is `sent` (gateway answer recorded, history written).
// The per-gateway rate limit is lifted (ratePerSecond 100000) so the figures measure the queue.
// Environment: BENCH_MESSAGES (per mode, default 2000), BENCH_REDIS_URL.
// Last line: `ratio <geometric mean over the queue modes of delivered per second / bare requests per second>`.
import { fork } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const self = fileURLToPath(import.meta.url);
const count = Number(process.env.BENCH_MESSAGES ?? 2000);
const concurrency = 8;

if (process.argv[2] === "gateway") {
  let seq = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(201, { "content-type": "application/json" }).end(`{"id":"SM${++seq}"}`);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, "127.0.0.1", () => process.send({ port: server.address().port }));
} else {
  await main();
}

async function startGateway() {
  const child = fork(self, ["gateway"], { stdio: "inherit" });
  const { port } = await new Promise((resolve) => child.once("message", resolve));
  return { url: `http://127.0.0.1:${port}/messages`, stop: () => child.kill() };
}

async function bareLoop(url) {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next += 1;
        const key = randomUUID();
        const response = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json", "idempotency-key": key },
          body: JSON.stringify({
            to: "+41791234567",
            text: "Org: install the secure phone app: https://prov.example.net/i/abcdefghijkl",
            from: null,
            idempotencyKey: key,
            callbackUrl: null,
          }),
        });
        await response.text();
      }
    }),
  );
  return count / ((performance.now() - started) / 1000);
}

async function throughProvisiond(mode, gatewayUrl, redisUrl) {
  const dist = (path) => import(join(root, "dist", "src", path));
  const { loadConfig } = await dist("config/load.js");
  const { startServer } = await dist("main.js");
  const { createLogger } = await dist("logger.js");
  const { default: pino } = await import("pino");
  const dataDir = mkdtempSync(join(tmpdir(), "provisiond-bench-messaging-"));
  const config = loadConfig({
    env: { NODE_ENV: "production" },
    overrides: {
      http: { host: "127.0.0.1", port: 0 },
      log: { level: "warn" },
      sip: { enabled: false },
      secrets: { credentialKey: "62656e6368000000000000000000000000000000000000000000000000000003" },
      database: { url: null, dataDir },
      redis: { url: mode === "bullmq" ? redisUrl : null },
      messaging: {
        concurrency,
        sweepMs: 1000,
        queuePrefix: `provisiond-bench-${randomBytes(4).toString("hex")}`,
        sms: { gateway: "http", ratePerSecond: 100_000, http: { url: gatewayUrl } },
      },
    },
  });
  const server = await startServer({
    config,
    logger: createLogger("warn", pino.destination({ dest: "/dev/null", sync: false })),
  });
  const knex = server.database.knex;
  const sentCount = async () =>
    Number((await knex("outbox_messages").where({ status: "sent" }).count({ n: "*" }))[0].n);
  try {
    const started = performance.now();
    for (let i = 0; i < count; i++) {
      await knex.transaction((trx) =>
        server.messaging.outbox.enqueue(trx, {
          channel: "sms",
          kind: "installation_sms",
          recipient: "+41791234567",
          text: "Org: install the secure phone app: https://prov.example.net/i/abcdefghijkl",
          encoding: "GSM-7",
          segments: 1,
        }),
      );
    }
    const queuedSeconds = (performance.now() - started) / 1000;
    while ((await sentCount()) < count) await new Promise((resolve) => setTimeout(resolve, 20));
    const deliveredSeconds = (performance.now() - started) / 1000;
    return { queued: count / queuedSeconds, delivered: count / deliveredSeconds };
  } finally {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function redisReachable(url) {
  const { Redis } = await import("ioredis");
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  // Refused while it starts: that is what the probe is asking, not an error to report.
  client.on("error", () => {});
  try {
    await client.connect();
    await client.ping();
    return true;
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

async function main() {
  const redisUrl = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
  const gateway = await startGateway();
  try {
    console.log(`${count} messages per run, concurrency ${concurrency}, HTTP gateway at ${gateway.url}`);
    // Warm the gateway and the HTTP client once, so neither run pays for it.
    await fetch(gateway.url, { method: "POST", body: "{}" }).then((r) => r.text());
    const bare = await bareLoop(gateway.url);
    console.log(`bare loop (baseline)          ${bare.toFixed(0).padStart(6)} requests/s`);
    const modes = ["in-process"];
    if (await redisReachable(redisUrl)) modes.push("bullmq");
    else console.log(`BullMQ skipped: no Redis at ${redisUrl}`);
    const ratios = [];
    for (const mode of modes) {
      const result = await throughProvisiond(mode, gateway.url, redisUrl);
      ratios.push(result.delivered / bare);
      console.log(
        `${`provisiond, ${mode} queue`.padEnd(30)}${result.queued.toFixed(0).padStart(6)} queued/s  ${result.delivered
          .toFixed(0)
          .padStart(6)} delivered/s   ratio ${(result.delivered / bare).toFixed(3)}`,
      );
    }
    const geometric = Math.exp(ratios.reduce((sum, r) => sum + Math.log(r), 0) / ratios.length);
    console.log(`\nratio ${geometric.toFixed(3)}`);
  } finally {
    gateway.stop();
  }
}
