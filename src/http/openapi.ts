import { extendZodWithOpenApi, OpenAPIRegistry, OpenApiGeneratorV31 } from "@asteasolutions/zod-to-openapi";
import { z } from "zod";
import { bodyContentTypes, type Route } from "./route.js";

extendZodWithOpenApi(z);

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().optional(),
    requestId: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: "Problem", description: "RFC 9457 problem details" });

const sharedProblems: Record<number, string> = {
  400: "Bad input: the problem names each bad field",
  401: "No API token, or not a valid one",
  403: "The token's role may not do this",
  404: "Not found, or not visible to this token",
  413: "Request body too large",
  429: "Rate limited",
  500: "Unexpected error (quote the request id)",
};

export function buildOpenApiDocument(routes: readonly Route[], version: string): object {
  const registry = new OpenAPIRegistry();
  const bearer = registry.registerComponent("securitySchemes", "bearerToken", {
    type: "http",
    scheme: "bearer",
    description: "An API token from `provisiond token create` or POST /api/v1/users/{id}/tokens",
  });

  for (const route of routes) {
    const problemStatuses = new Set<number>([400, 500, ...(route.problems ?? [])]);
    if (route.access.kind === "token") {
      problemStatuses.add(401);
      problemStatuses.add(403);
      problemStatuses.add(429);
    }
    if (route.request?.body) problemStatuses.add(413);
    if (route.path.includes("{")) problemStatuses.add(404);

    const responses: Record<
      string,
      { description: string; content?: Record<string, { schema: z.ZodType }> }
    > = {};
    responses[String(route.response.status)] = {
      description: route.response.description,
      ...(route.response.schema
        ? {
            content: {
              [route.response.contentType ?? "application/json"]: { schema: route.response.schema },
            },
          }
        : {}),
    };
    for (const status of [...problemStatuses].sort()) {
      responses[String(status)] = {
        description: sharedProblems[status] ?? "Problem",
        content: { "application/problem+json": { schema: problemSchema } },
      };
    }

    registry.registerPath({
      method: route.method,
      path: route.path,
      operationId: route.operationId,
      summary: route.summary,
      tags: route.tags,
      security: route.access.kind === "token" ? [{ [bearer.name]: [] }] : [],
      request: {
        ...(route.request?.params ? { params: route.request.params } : {}),
        ...(route.request?.query ? { query: route.request.query } : {}),
        ...(route.request?.body
          ? {
              body: {
                required: true,
                content: {
                  [bodyContentTypes[route.request.bodyType ?? "json"]]: {
                    // Bytes have no JSON Schema of their own: a binary string, as OpenAPI 3.1 says.
                    schema:
                      route.request.bodyType === "wav"
                        ? { type: "string" as const, contentMediaType: "audio/wav" }
                        : route.request.body,
                  },
                },
              },
            }
          : {}),
      },
      responses,
    });
  }

  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: "3.1.0",
    info: {
      title: "provisiond admin and device API",
      version,
      description:
        "Generated from the server's zod schemas. The conventions (errors, lists, roles) are in docs/http-api.md of the provisiond repository.",
    },
    servers: [{ url: "/" }],
  });
}
