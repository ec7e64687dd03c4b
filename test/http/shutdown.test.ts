import { connect } from "node:net";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { FailureLimiter } from "../../src/auth/failure-limiter.js";
import { systemClock } from "../../src/clock.js";
import { createHttpApp } from "../../src/http/app.js";
import { createMetrics } from "../../src/http/metrics.js";
import { defineRoute, publicAccess } from "../../src/http/route.js";
import { drainHttp, listenHttp } from "../../src/http/server.js";
import { captureLogs } from "../support/logs.js";

/** A server whose /slow answers only when the test says so. */
async function serverWithSlowRoute() {
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let arrived: () => void = () => {};
  const started = new Promise<void>((resolve) => {
    arrived = resolve;
  });
  let shuttingDown = false;
  const logs = captureLogs();
  const app = createHttpApp({
    logger: logs.logger,
    metrics: createMetrics(),
    bodyLimitBytes: 1024,
    importLimitBytes: 1024,
    authenticate: async () => {
      throw new Error("no auth here");
    },
    isShuttingDown: () => shuttingDown,
    authFailures: new FailureLimiter(1000, 60_000, systemClock),
    routes: [
      defineRoute({
        operationId: "slow",
        method: "get",
        path: "/slow",
        summary: "Answer when released",
        tags: ["test"],
        access: publicAccess,
        response: { status: 200, description: "done", schema: z.object({ done: z.boolean() }) },
        handle: async () => {
          arrived();
          await released;
          return { done: true };
        },
      }),
    ],
  });
  const { server, url } = await listenHttp(app.callback(), {
    host: "127.0.0.1",
    port: 0,
    requestTimeoutMs: 30_000,
  });
  const port = Number(new URL(url).port);
  return {
    server,
    url,
    port,
    logs,
    release,
    started,
    beginShutdown: () => {
      shuttingDown = true;
    },
  };
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(true));
  });
}

describe("graceful shutdown", () => {
  it("stops accepting, finishes the request in flight, then closes", async () => {
    const s = await serverWithSlowRoute();
    const inFlight = fetch(`${s.url}/slow`);
    await s.started;

    s.beginShutdown();
    let drained = false;
    const draining = drainHttp(s.server, 10_000, s.logs.logger).then(() => {
      drained = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await refused(s.port)).toBe(true);
    expect(drained).toBe(false);

    s.release();
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ done: true });
    expect(response.headers.get("connection")).toBe("close");
    await draining;
    expect(drained).toBe(true);
  });

  it("cuts requests still running when the grace period ends", async () => {
    const s = await serverWithSlowRoute();
    const inFlight = fetch(`${s.url}/slow`).then(
      () => "answered",
      () => "cut",
    );
    await s.started;
    const began = Date.now();
    await drainHttp(s.server, 200, s.logs.logger);
    expect(Date.now() - began).toBeGreaterThanOrEqual(190);
    expect(await inFlight).toBe("cut");
    expect(s.logs.text()).toContain("shutdown grace period over");
    s.release();
  });
});
