import type { Context, Next } from "koa";
import { ids } from "../ids.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "./metrics.js";

/** A caller's own request id is kept only if it is short and plain, so it is safe in logs. */
const acceptableRequestId = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Gives each request an id (echoed in X-Request-Id), a child logger, one access log line
 * and a duration sample. Paths are logged without their query string.
 */
export function requestContext(logger: Logger, metrics: Metrics) {
  return async (ctx: Context, next: Next): Promise<void> => {
    const started = process.hrtime.bigint();
    const incoming = ctx.get("X-Request-Id");
    const requestId = acceptableRequestId.test(incoming) ? incoming : ids.uuid();
    ctx.state.requestId = requestId;
    ctx.state.log = logger.child({ requestId });
    ctx.set("X-Request-Id", requestId);
    try {
      await next();
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = (ctx as Context & { _matchedRoute?: string })._matchedRoute ?? "unmatched";
      metrics.httpRequestDuration.observe({ method: ctx.method, route, status: String(ctx.status) }, seconds);
      const line = {
        method: ctx.method,
        path: ctx.path,
        route,
        status: ctx.status,
        durationMs: Math.round(seconds * 1e5) / 100,
        remoteAddress: ctx.ip,
      };
      const log = ctx.state.log as Logger;
      if (ctx.status >= 500) log.error(line, "request");
      else log.info(line, "request");
    }
  };
}
