import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { migrateRollback } from "../../src/db/migrate.js";
import { bodyContentTypes } from "../../src/http/route.js";
import { databaseKind } from "../support/database.js";
import { startTestServer, type TestServer } from "../support/server.js";

describe(`health, readiness, metrics and OpenAPI on ${databaseKind}`, () => {
  let t: TestServer;
  beforeEach(async () => {
    t = await startTestServer();
  });
  afterEach(async () => {
    await t.stop();
  });

  it("answers /healthz and /readyz with 200 while the database is there", async () => {
    const health = await fetch(`${t.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok" });
    const ready = await fetch(`${t.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready", database: databaseKind, migrations: "current" });
  });

  it("fails readiness, not liveness, when the database is gone", async () => {
    await t.db.makeUnreachable();
    const ready = await fetch(`${t.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.headers.get("content-type")).toContain("application/problem+json");
    const problem = (await ready.json()) as { detail: string };
    expect(problem.detail).toBe("the database is unreachable");
    expect(JSON.stringify(problem)).not.toMatch(/at .*\.(ts|js):\d+/);
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
  });

  it("fails readiness while migrations are pending", async () => {
    await migrateRollback(t.db.database.knex);
    const ready = await fetch(`${t.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { detail: string }).detail).toMatch(/^database migrations pending: /);
  });

  it("serves Prometheus metrics that count the requests made", async () => {
    await fetch(`${t.url}/healthz`);
    const metrics = await fetch(`${t.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get("content-type")).toContain("text/plain");
    const text = await metrics.text();
    expect(text).toMatch(
      /provisiond_http_request_duration_seconds_count\{service="provisiond",method="GET",route="\/healthz",status="200"\} 1/,
    );
    expect(text).toContain("process_resident_memory_bytes");
  });

  it("publishes an OpenAPI 3.1 document listing every route with its responses", async () => {
    const response = await fetch(`${t.url}/api/v1/openapi.json`);
    expect(response.status).toBe(200);
    const doc = (await response.json()) as {
      openapi: string;
      paths: Record<string, Record<string, { responses: Record<string, unknown>; security?: unknown[] }>>;
      components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
    };
    expect(doc.openapi).toBe("3.1.0");
    for (const path of ["/healthz", "/readyz", "/metrics", "/api/v1/openapi.json", "/api/v1/me"]) {
      expect(doc.paths[path]?.get, path).toBeDefined();
    }
    expect(doc.paths["/api/v1/me"]?.get?.responses).toHaveProperty("401");
    expect(doc.paths["/api/v1/me"]?.get?.security).toEqual([{ bearerToken: [] }]);
    expect(doc.components.schemas).toHaveProperty("Problem");
    expect(doc.components.schemas).toHaveProperty("Principal");
  });

  it("documents every route the server serves, with its request and response schemas", async () => {
    const doc = (await (await fetch(`${t.url}/api/v1/openapi.json`)).json()) as {
      paths: Record<
        string,
        Record<
          string,
          {
            operationId: string;
            parameters?: Array<{ in: string; name: string }>;
            requestBody?: { content: Record<string, { schema: unknown }> };
            responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
          }
        >
      >;
    };
    for (const route of t.server.routes) {
      const operation = doc.paths[route.path]?.[route.method];
      expect(operation, `${route.method} ${route.path}`).toBeDefined();
      expect(operation?.operationId).toBe(route.operationId);
      const success = operation?.responses[String(route.response.status)];
      expect(success, route.operationId).toBeDefined();
      if (route.response.schema) expect(success?.content, route.operationId).toBeDefined();
      if (route.request?.body) {
        const contentType = bodyContentTypes[route.request.bodyType ?? "json"];
        expect(operation?.requestBody?.content[contentType]?.schema, route.operationId).toBeDefined();
        expect(operation?.responses["400"], route.operationId).toBeDefined();
      }
      for (const name of Object.keys(route.request?.params?.shape ?? {})) {
        expect(
          operation?.parameters?.some((p) => p.in === "path" && p.name === name),
          `${route.operationId} ${name}`,
        ).toBe(true);
      }
      for (const name of Object.keys(route.request?.query?.shape ?? {})) {
        expect(
          operation?.parameters?.some((p) => p.in === "query" && p.name === name),
          `${route.operationId} ${name}`,
        ).toBe(true);
      }
      if (route.access.kind === "token") expect(operation?.responses["401"], route.operationId).toBeDefined();
    }
  });
});
