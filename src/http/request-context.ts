import type { Context, Next } from "koa";
import { ids } from "../ids.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "./metrics.js";

/** A caller's own request id is kept only if it is short and plain, so it is safe in logs. */
const acceptableRequestId = /^[A-Za-z0-9._:-]{1,128}$/;

/** The id of a request: the caller's X-Request-Id if it is acceptable, a new one otherwise. */
export function requestIdFrom(incoming: string | string[] | undefined): string {
  return typeof incoming === "string" && acceptableRequestId.test(incoming) ? incoming : ids.uuid();
}

/** What the access log line and the duration metric say about one answered request. */
export interface AnsweredRequest {
  /** Given when `log` is not already the request's child logger. */
  requestId?: string;
  method: string;
  path: string;
  /** The route template, or "unmatched". */
  route: string;
  status: number;
  remoteAddress: string | undefined;
}

/** One duration sample and one access log line (error level for 5xx) for an answered request. */
export function recordRequest(
  metrics: Metrics,
  log: Logger,
  request: AnsweredRequest,
  started: bigint,
): void {
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const { method, route, status } = request;
  metrics.httpRequestDuration.observe({ method, route, status: String(status) }, seconds);
  if (status < 500 && !log.isLevelEnabled("info")) return;
  const line = { ...request, durationMs: Math.round(seconds * 1e5) / 100 };
  if (status >= 500) log.error(line, "request");
  else log.info(line, "request");
}

/**
 * Gives each request an id (echoed in X-Request-Id), a child logger, one access log line
 * and a duration sample. Paths are logged without their query string.
 */
export function requestContext(logger: Logger, metrics: Metrics) {
  return async (ctx: Context, next: Next): Promise<void> => {
    const started = process.hrtime.bigint();
    const requestId = requestIdFrom(ctx.get("X-Request-Id"));
    ctx.state.requestId = requestId;
    ctx.state.log = logger.child({ requestId });
    ctx.set("X-Request-Id", requestId);
    try {
      await next();
    } finally {
      const route = (ctx as Context & { _matchedRoute?: string })._matchedRoute ?? "unmatched";
      recordRequest(
        metrics,
        ctx.state.log as Logger,
        { method: ctx.method, path: ctx.path, route, status: ctx.status, remoteAddress: ctx.ip },
        started,
      );
    }
  };
}
