import { z } from "zod";
import type { Metrics } from "./metrics.js";
import { defineRoute, publicAccess, type Route } from "./route.js";

const healthSchema = z.object({ status: z.literal("ok") }).meta({ id: "Health" });
const readinessSchema = z
  .object({ status: z.literal("ready"), database: z.string(), migrations: z.literal("current") })
  .meta({ id: "Readiness" });

export function operationsRoutes(deps: {
  metrics: Metrics;
  readiness: () => Promise<{ database: string }>;
  openApiDocument: () => object;
}): Route[] {
  return [
    defineRoute({
      operationId: "healthz",
      method: "get",
      path: "/healthz",
      summary: "Process liveness",
      tags: ["operations"],
      access: publicAccess,
      response: { status: 200, description: "The process is alive", schema: healthSchema },
      handle: () => ({ status: "ok" as const }),
    }),
    defineRoute({
      operationId: "readyz",
      method: "get",
      path: "/readyz",
      summary: "Readiness: database reachable and migrations current",
      tags: ["operations"],
      access: publicAccess,
      response: { status: 200, description: "Ready to serve", schema: readinessSchema },
      problems: [503],
      handle: async () => {
        const { database } = await deps.readiness();
        return { status: "ready" as const, database, migrations: "current" as const };
      },
    }),
    defineRoute({
      operationId: "metrics",
      method: "get",
      path: "/metrics",
      summary: "Prometheus metrics",
      tags: ["operations"],
      access: publicAccess,
      response: {
        status: 200,
        description: "Prometheus text exposition format",
        schema: z.string(),
        contentType: "text/plain; version=0.0.4",
      },
      handle: async ({ ctx }) => {
        ctx.type = deps.metrics.registry.contentType;
        ctx.body = await deps.metrics.registry.metrics();
        return undefined;
      },
    }),
    defineRoute({
      operationId: "openapi",
      method: "get",
      path: "/api/v1/openapi.json",
      summary: "This OpenAPI document",
      tags: ["operations"],
      access: publicAccess,
      response: { status: 200, description: "OpenAPI 3.1 document" },
      handle: ({ ctx }) => {
        ctx.body = deps.openApiDocument();
        return undefined;
      },
    }),
  ];
}
