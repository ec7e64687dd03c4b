import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import type { z } from "zod";
import { BadRequestError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "./metrics.js";
import { failedRequest, problemContentType } from "./problem.js";
import { recordRequest, requestIdFrom } from "./request-context.js";
import { type FastRouteInput, type HttpAnswer, koaPath, type RawRequest, type Route } from "./route.js";
import { validate } from "./validate.js";

/** A fast-path body is a small JSON document; a larger one goes through the Koa route. */
const maxBodyBytes = 4096;

export interface FastPathDependencies {
  logger: Logger;
  metrics: Metrics;
  routes: readonly Route[];
  isShuttingDown(): boolean;
}

/** A fast-path route as this listener serves it (FastRouteSpec, with its types erased). */
interface FastRoute {
  method: string;
  path: string;
  body: z.ZodType;
  handle(input: FastRouteInput<unknown>): Promise<HttpAnswer>;
}

/**
 * Serves the routes marked `fastPath` in front of the Koa app (`next`): a request for such a
 * route with a JSON body and a Content-Length is answered here, without the router, body parser
 * chain and Koa context, because a hot endpoint's answer should cost little more than writing
 * its bytes. It does what every route shares, with the same functions as the Koa app: request
 * id, problem+json errors, access log line, duration metric, Connection: close while draining.
 * Every other request (another type, a chunked body, a query string) goes to `next`, where the
 * same handler answers.
 */
export function withFastPaths(deps: FastPathDependencies, next: RequestListener): RequestListener {
  const routes = new Map<string, FastRoute>();
  for (const route of deps.routes) {
    if (!route.fastPath) continue;
    const body = route.request?.body;
    if (route.access.kind !== "public" || koaPath(route.path) !== route.path || !body) {
      throw new Error(
        `fast-path route ${route.operationId} must be public, take a JSON body, have no params`,
      );
    }
    const method = route.method.toUpperCase();
    const handle = route.handle as unknown as FastRoute["handle"];
    routes.set(`${method} ${route.path}`, { method, path: route.path, body, handle });
  }
  if (routes.size === 0) return next;
  return (req, res) => {
    const route = routes.get(`${req.method} ${req.url}`);
    const length = Number(req.headers["content-length"]);
    if (!route || !(length > 0 && length <= maxBodyBytes) || !isJson(req.headers["content-type"])) {
      next(req, res);
      return;
    }
    const started = process.hrtime.bigint();
    const requestId = requestIdFrom(req.headers["x-request-id"]);
    const chunks: Buffer[] = [];
    let received = 0;
    req.on("data", (chunk: Buffer) => {
      received += chunk.length;
      if (received <= maxBodyBytes) chunks.push(chunk);
    });
    req.on("end", () => {
      void serve(deps, route, req, res, requestId, Buffer.concat(chunks)).finally(() =>
        recordRequest(
          deps.metrics,
          deps.logger,
          {
            requestId,
            method: route.method,
            path: route.path,
            route: route.path,
            status: res.statusCode,
            remoteAddress: req.socket.remoteAddress,
          },
          started,
        ),
      );
    });
  };
}

function isJson(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const type = contentType.split(";", 1)[0]?.trim().toLowerCase();
  return type === "application/json";
}

async function serve(
  deps: FastPathDependencies,
  route: FastRoute,
  req: IncomingMessage,
  res: ServerResponse,
  requestId: string,
  raw: Buffer,
): Promise<void> {
  res.setHeader("X-Request-Id", requestId);
  if (deps.isShuttingDown()) res.setHeader("Connection", "close");
  const request: RawRequest = {
    method: route.method,
    url: req.url ?? route.path,
    headers: req.headers,
    remoteAddress: req.socket.remoteAddress ?? "",
  };
  try {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString("utf8"));
    } catch {
      throw new BadRequestError("the request body is not valid JSON");
    }
    const body = validate(route.body, parsed, "body");
    const answer = await route.handle({ body, requestId, request });
    res.writeHead(answer.status, { ...answer.headers, "Content-Length": answer.body.length });
    res.end(answer.body);
  } catch (error) {
    const log = deps.logger.child({ requestId });
    const { problem, headers } = failedRequest(error, { instance: route.path, requestId }, log);
    const body = Buffer.from(JSON.stringify(problem));
    res.writeHead(problem.status, {
      ...headers,
      // As the Koa app writes it (ctx.type = problemContentType).
      "Content-Type": problemContentType,
      "Content-Length": body.length,
    });
    res.end(body);
  }
}
