import type { Server } from "node:http";
import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { FailureLimiter } from "../../src/auth/failure-limiter.js";
import { systemClock } from "../../src/clock.js";
import { ConflictError, UnauthorizedError } from "../../src/errors.js";
import { createHttpListener } from "../../src/http/app.js";
import { createMetrics } from "../../src/http/metrics.js";
import { withProblemHeaders } from "../../src/http/problem.js";
import { defineRoute, publicAccess } from "../../src/http/route.js";
import { listenHttp } from "../../src/http/server.js";
import { captureLogs } from "../support/logs.js";

const echoBody = z.object({ name: z.string().min(1).max(20) }).strict();
const served: string[] = [];

const routes = [
  defineRoute({
    operationId: "echo",
    method: "post",
    path: "/echo",
    summary: "Echo a name",
    tags: ["test"],
    access: publicAccess,
    request: { body: echoBody },
    response: { status: 200, description: "the name" },
    fastPath: true,
    handle: async ({ body, request, requestId }) => {
      served.push(requestId);
      if (body.name === "conflict") {
        throw withProblemHeaders(new ConflictError("that name is taken"), { "Echo-Hint": "try another" });
      }
      if (body.name === "crash") throw new Error("boom");
      return {
        status: 200,
        headers: { "Content-Type": "text/plain; charset=utf-8", "Echo-Method": request.method },
        body: Buffer.from(`hello ${body.name} from ${request.url}`),
      };
    },
  }),
];

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One POST, with a Content-Length (the fast path) or chunked (the Koa route). */
function post(url: string, body: string, options: { chunked: boolean; requestId?: string }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { "content-type": "application/json" };
    if (options.chunked) headers["transfer-encoding"] = "chunked";
    else headers["content-length"] = Buffer.byteLength(body);
    if (options.requestId) headers["x-request-id"] = options.requestId;
    const req = httpRequest(new URL("/echo", url), { method: "POST", headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.on("error", reject);
    req.write(body);
    req.end();
  });
}

/** What must not differ between the two paths. */
function comparable(answer: Answer) {
  const {
    date: _date,
    connection: _c,
    "keep-alive": _k,
    "transfer-encoding": _t,
    ...headers
  } = answer.headers;
  const type = String(headers["content-type"]);
  const body = type.includes("json")
    ? { ...JSON.parse(answer.body.toString()), requestId: "-" }
    : answer.body.toString();
  return { status: answer.status, headers: { ...headers, "x-request-id": "-" }, body };
}

describe("fast-path routes", () => {
  let server: Server;
  let url: string;
  let draining = false;
  const logs = captureLogs();
  const metrics = createMetrics();

  beforeAll(async () => {
    const listener = createHttpListener({
      logger: logs.logger,
      metrics,
      routes,
      bodyLimitBytes: 2048,
      importLimitBytes: 4096,
      authenticate: async () => {
        throw new UnauthorizedError("no tokens here");
      },
      isShuttingDown: () => draining,
      authFailures: new FailureLimiter(1000, 60_000, systemClock),
    });
    ({ server, url } = await listenHttp(listener, { host: "127.0.0.1", port: 0, requestTimeoutMs: 5000 }));
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it("answers the same on the fast path and through the Koa route, errors included", async () => {
    const bodies = [
      '{"name":"Ada"}',
      '{"name":"conflict"}',
      '{"name":""}',
      '{"name":"Ada","extra":1}',
      '{"name": ',
      '{"name":"crash"}',
    ];
    for (const [i, body] of bodies.entries()) {
      const requestId = `same-${i}`;
      const fast = await post(url, body, { chunked: false, requestId });
      const koa = await post(url, body, { chunked: true, requestId });
      expect(comparable(fast), body).toEqual(comparable(koa));
    }
    const ok = await post(url, '{"name":"Ada"}', { chunked: false });
    expect(ok.status).toBe(200);
    expect(ok.body.toString()).toBe("hello Ada from /echo");
    expect(ok.headers["content-length"]).toBe(String(ok.body.length));
    expect(ok.headers["echo-method"]).toBe("POST");

    const conflict = await post(url, '{"name":"conflict"}', { chunked: false });
    expect(conflict.status).toBe(409);
    expect(conflict.headers["content-type"]).toBe("application/problem+json");
    expect(conflict.headers["echo-hint"]).toBe("try another");
    expect(JSON.parse(conflict.body.toString())).toMatchObject({
      type: "urn:provisiond:problem:conflict",
      status: 409,
      detail: "that name is taken",
      instance: "/echo",
    });
    const badJson = await post(url, '{"name": ', { chunked: false });
    expect(JSON.parse(badJson.body.toString())).toMatchObject({
      status: 400,
      detail: "the request body is not valid JSON",
    });
    const crash = await post(url, '{"name":"crash"}', { chunked: false, requestId: "crash-1" });
    expect(crash.status).toBe(500);
    expect(JSON.parse(crash.body.toString()).detail).toContain("crash-1");
    expect(crash.body.toString()).not.toContain("boom");
  });

  it("keeps the caller's request id, logs one access line and observes the duration", async () => {
    const fast = await post(url, '{"name":"Bob"}', { chunked: false, requestId: "fast-1" });
    const koa = await post(url, '{"name":"Bob"}', { chunked: true, requestId: "koa-1" });
    expect([fast.headers["x-request-id"], koa.headers["x-request-id"]]).toEqual(["fast-1", "koa-1"]);
    expect(served).toEqual(expect.arrayContaining(["fast-1", "koa-1"]));
    const invented = await post(url, '{"name":"Bob"}', { chunked: false, requestId: "not ok!" });
    expect(invented.headers["x-request-id"]).not.toBe("not ok!");

    const access = logs.lines().filter((line) => line.msg === "request");
    for (const requestId of ["fast-1", "koa-1"]) {
      const lines = access.filter((line) => line.requestId === requestId);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ method: "POST", path: "/echo", route: "/echo", status: 200 });
      expect(typeof lines[0]?.durationMs).toBe("number");
    }
    const failed = logs.lines().filter((line) => line.msg === "request failed");
    expect(failed.some((line) => line.requestId === "crash-1")).toBe(true);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(
      /provisiond_http_request_duration_seconds_count\{[^}]*route="\/echo"[^}]*status="200"/,
    );
    expect(text).toMatch(
      /provisiond_http_request_duration_seconds_count\{[^}]*route="\/echo"[^}]*status="409"/,
    );
  });

  it("asks clients to close the connection while the server drains", async () => {
    draining = true;
    try {
      const fast = await post(url, '{"name":"Eve"}', { chunked: false });
      const koa = await post(url, '{"name":"Eve"}', { chunked: true });
      expect([fast.headers.connection, koa.headers.connection]).toEqual(["close", "close"]);
    } finally {
      draining = false;
    }
  });
});
