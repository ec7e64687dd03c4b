import type { Server } from "node:http";
import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { FailureLimiter } from "../../src/auth/failure-limiter.js";
import { systemClock } from "../../src/clock.js";
import { ConflictError, UnauthorizedError } from "../../src/errors.js";
import { createHttpApp } from "../../src/http/app.js";
import { createMetrics } from "../../src/http/metrics.js";
import { defineRoute, forRoles, publicAccess } from "../../src/http/route.js";
import { listenHttp } from "../../src/http/server.js";
import type { Principal } from "../../src/tenancy/roles.js";
import { captureLogs } from "../support/logs.js";

const widgetBody = z.object({ name: z.string().min(1).max(20), count: z.number().int().min(0) }).strict();

const companyAdmin: Principal = {
  userId: "00000000-0000-4000-8000-000000000001",
  tokenId: "00000000-0000-4000-8000-000000000002",
  email: "admin@example.com",
  name: "Admin",
  role: "company_admin",
  organisationId: "00000000-0000-4000-8000-000000000003",
  groupId: null,
  groupIds: [],
  scope: { kind: "organisation", organisationId: "00000000-0000-4000-8000-000000000003" },
};

const routes = [
  defineRoute({
    operationId: "createWidget",
    method: "post",
    path: "/widgets",
    summary: "Create a widget",
    tags: ["test"],
    access: publicAccess,
    request: { body: widgetBody },
    response: { status: 201, description: "created", schema: widgetBody },
    handle: ({ body }) => body,
  }),
  defineRoute({
    operationId: "getWidget",
    method: "get",
    path: "/widgets/{id}",
    summary: "Read a widget",
    tags: ["test"],
    access: publicAccess,
    request: {
      params: z.object({ id: z.uuid() }),
      query: z.object({ verbose: z.enum(["yes", "no"]).optional() }).strict(),
    },
    response: { status: 200, description: "the widget", schema: z.object({ id: z.string() }) },
    handle: ({ params }) => ({ id: params.id, secret: "never shown" }),
  }),
  defineRoute({
    operationId: "explode",
    method: "get",
    path: "/explode",
    summary: "Fail unexpectedly",
    tags: ["test"],
    access: publicAccess,
    response: { status: 200, description: "never" },
    handle: () => {
      throw new Error("database password is hunter2 at /srv/app.js:12");
    },
  }),
  defineRoute({
    operationId: "conflict",
    method: "post",
    path: "/conflict",
    summary: "Conflict",
    tags: ["test"],
    access: publicAccess,
    response: { status: 200, description: "never" },
    handle: () => {
      throw new ConflictError("username 1001 is taken in sip.example.com");
    },
  }),
  defineRoute({
    operationId: "operatorsOnly",
    method: "get",
    path: "/operators-only",
    summary: "Read operator things",
    tags: ["test"],
    access: forRoles("operator"),
    response: { status: 200, description: "ok", schema: z.object({ ok: z.boolean() }) },
    handle: () => ({ ok: true }),
  }),
];

describe("HTTP errors as problem+json", () => {
  let server: Server;
  let url: string;
  const logs = captureLogs();

  beforeAll(async () => {
    const app = createHttpApp({
      logger: logs.logger,
      metrics: createMetrics(),
      routes,
      bodyLimitBytes: 2048,
      importLimitBytes: 4096,
      authenticate: async (bearer) => {
        if (bearer === "pvd_company_admin") return companyAdmin;
        throw new UnauthorizedError("the API token is not valid");
      },
      isShuttingDown: () => false,
      authFailures: new FailureLimiter(1000, 60_000, systemClock),
    });
    ({ server, url } = await listenHttp(app.callback(), {
      host: "127.0.0.1",
      port: 0,
      requestTimeoutMs: 5000,
    }));
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  async function problem(response: Response) {
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    return (await response.json()) as {
      type: string;
      title: string;
      status: number;
      detail: string;
      requestId: string;
      errors?: Array<{ path: string; message: string }>;
    };
  }

  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${url}${path}`, {
      method: "POST",
      body,
      headers: { "content-type": "application/json", ...headers },
    });

  it("answers an unknown route with 404", async () => {
    const response = await fetch(`${url}/nothing/here`);
    expect(response.status).toBe(404);
    expect(await problem(response)).toMatchObject({
      type: "urn:provisiond:problem:not-found",
      status: 404,
      detail: "no resource at GET /nothing/here",
    });
  });

  it("answers a wrong method with 405 and the allowed ones", async () => {
    const response = await fetch(`${url}/explode`, { method: "DELETE" });
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toContain("GET");
    expect((await problem(response)).status).toBe(405);
  });

  it("names every bad field of a body", async () => {
    const response = await post("/widgets", JSON.stringify({ name: "", count: -1, colour: "red" }));
    expect(response.status).toBe(400);
    const body = await problem(response);
    expect(body.type).toBe("urn:provisiond:problem:validation-error");
    expect(body.errors?.map((e) => e.path).sort()).toEqual(["body", "body.count", "body.name"]);
    expect(body.errors?.find((e) => e.path === "body")?.message).toContain("colour");
  });

  it("refuses a body that is not JSON, or not JSON at all", async () => {
    const broken = await post("/widgets", '{"name": "a",');
    expect(broken.status).toBe(400);
    expect((await problem(broken)).detail).toBe("the request body is not valid JSON");
    const text = await fetch(`${url}/widgets`, {
      method: "POST",
      body: "name=a",
      headers: { "content-type": "text/plain" },
    });
    expect(text.status).toBe(415);
    expect((await problem(text)).detail).toBe("send the request body as application/json");
    const empty = await fetch(`${url}/widgets`, { method: "POST" });
    expect(empty.status).toBe(400);
    expect((await problem(empty)).errors?.[0]?.path).toBe("body");
  });

  it("refuses a body over the size limit with 413", async () => {
    const response = await post("/widgets", JSON.stringify({ name: "a", count: 1, pad: "x".repeat(4096) }));
    expect(response.status).toBe(413);
    expect((await problem(response)).type).toBe("urn:provisiond:problem:payload-too-large");
  });

  it("validates path and query parameters", async () => {
    const badId = await fetch(`${url}/widgets/not-a-uuid`);
    expect(badId.status).toBe(400);
    expect((await problem(badId)).errors?.[0]?.path).toBe("params.id");
    const badQuery = await fetch(`${url}/widgets/4b9e0b0e-7b1a-4c55-9c0e-3f7f3f0f3f0f?verbose=maybe&x=1`);
    expect(badQuery.status).toBe(400);
    expect((await problem(badQuery)).errors?.map((e) => e.path).sort()).toEqual(["query", "query.verbose"]);
  });

  it("answers what the contract names and nothing more", async () => {
    const response = await fetch(`${url}/widgets/4b9e0b0e-7b1a-4c55-9c0e-3f7f3f0f3f0f`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ id: "4b9e0b0e-7b1a-4c55-9c0e-3f7f3f0f3f0f" });
  });

  it("answers an unexpected failure with 500, no internals, and logs it with the request id", async () => {
    const response = await fetch(`${url}/explode`, { headers: { "x-request-id": "trace-42" } });
    expect(response.status).toBe(500);
    expect(response.headers.get("x-request-id")).toBe("trace-42");
    const body = await problem(response);
    expect(body.detail).toBe("an unexpected error occurred; quote request id trace-42 to the operator");
    const raw = JSON.stringify(body);
    expect(raw).not.toContain("hunter2");
    expect(raw).not.toContain("app.js");
    const logged = logs.lines().find((line) => line.msg === "request failed");
    expect(logged).toMatchObject({ requestId: "trace-42" });
    expect(JSON.stringify(logged)).toContain("hunter2");
  });

  it("maps domain errors to their status", async () => {
    const response = await post("/conflict", "");
    expect(response.status).toBe(409);
    expect(await problem(response)).toMatchObject({
      status: 409,
      detail: "username 1001 is taken in sip.example.com",
    });
  });

  it("gives each request an id, and replaces an unsafe incoming one", async () => {
    const generated = await fetch(`${url}/healthz-missing`);
    expect(generated.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    const unsafe = await fetch(`${url}/healthz-missing`, { headers: { "x-request-id": "a b\tc<script>" } });
    expect(unsafe.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("refuses a missing or invalid token with 401 and a role without access with 403", async () => {
    const none = await fetch(`${url}/operators-only`);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toContain("Bearer");
    await problem(none);
    const wrong = await fetch(`${url}/operators-only`, { headers: { authorization: "Bearer pvd_wrong" } });
    expect(wrong.status).toBe(401);
    await problem(wrong);
    const forbidden = await fetch(`${url}/operators-only`, {
      headers: { authorization: "Bearer pvd_company_admin" },
    });
    expect(forbidden.status).toBe(403);
    expect((await problem(forbidden)).detail).toBe("role company_admin may not read operator things");
  });

  it("survives a malformed request line without crashing", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${url}/widgets/%zz`, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end();
    });
    expect([400, 404]).toContain(status);
    expect((await fetch(`${url}/nothing`)).status).toBe(404);
  });
});
