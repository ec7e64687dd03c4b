import type { Context } from "koa";
import { AppError, MethodNotAllowedError, RateLimitedError, ValidationError } from "../errors.js";
import type { Logger } from "../logger.js";

export const problemContentType = "application/problem+json";

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  requestId?: string;
  errors?: Array<{ path: string; message: string }>;
}

const problemTypeBase = "urn:provisiond:problem:";

/** Errors thrown by Koa middleware (body parser, router) carry an HTTP status of their own. */
interface HttpLikeError {
  status?: number;
  statusCode?: number;
  expose?: boolean;
  type?: string;
  message: string;
}

const httpLikeProblems: Record<number, { type: string; title: string; detail: string }> = {
  400: { type: "bad-request", title: "Bad request", detail: "the request body is not valid JSON" },
  413: { type: "payload-too-large", title: "Payload too large", detail: "the request body is too large" },
  415: {
    type: "unsupported-media-type",
    title: "Unsupported media type",
    detail: "the request body's content type is not supported",
  },
};

function toProblem(error: unknown, ctx: Context): Problem {
  const base = { instance: ctx.path, requestId: ctx.state.requestId as string | undefined };
  if (error instanceof AppError) {
    const problem: Problem = {
      type: problemTypeBase + error.type,
      title: error.title,
      status: error.status,
      detail: error.message,
      ...base,
    };
    if (error instanceof ValidationError) problem.errors = error.errors;
    return problem;
  }
  const status = (error as HttpLikeError)?.status ?? (error as HttpLikeError)?.statusCode;
  const known = status !== undefined ? httpLikeProblems[status] : undefined;
  if (status !== undefined && known) {
    return { type: problemTypeBase + known.type, title: known.title, status, detail: known.detail, ...base };
  }
  return {
    type: `${problemTypeBase}internal-error`,
    title: "Internal server error",
    status: 500,
    detail: `an unexpected error occurred; quote request id ${base.requestId ?? "(none)"} to the operator`,
    ...base,
  };
}

/** Outermost error boundary: every failure becomes problem+json, with no stack trace ever. */
export function problemMiddleware(logger: Logger) {
  return async (ctx: Context, next: () => Promise<unknown>): Promise<void> => {
    try {
      await next();
    } catch (error) {
      const problem = toProblem(error, ctx);
      if (problem.status >= 500) {
        ((ctx.state.log as Logger | undefined) ?? logger).error({ err: error }, "request failed");
      }
      if (error instanceof MethodNotAllowedError) ctx.set("Allow", error.allowed.join(", "));
      if (error instanceof RateLimitedError) ctx.set("Retry-After", String(error.retryAfterSeconds));
      ctx.status = problem.status;
      ctx.type = problemContentType;
      ctx.body = problem;
    }
  };
}
