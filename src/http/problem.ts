import type { Context } from "koa";
import {
  AppError,
  ConflictError,
  MethodNotAllowedError,
  RateLimitedError,
  ValidationError,
} from "../errors.js";
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

/** Where a problem happened: the request's path and id. */
export interface ProblemContext {
  instance: string;
  requestId: string | undefined;
}

export function toProblem(error: unknown, base: ProblemContext): Problem {
  if (error instanceof AppError) {
    const problem: Problem = {
      type: problemTypeBase + error.type,
      title: error.title,
      status: error.status,
      detail: error.message,
      ...base,
    };
    if (error instanceof ValidationError) problem.errors = error.errors;
    if (error instanceof ConflictError && error.errors.length > 0) problem.errors = error.errors;
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

/** Header values by name; a list is sent as one header line per value. */
export type ProblemHeaders = Record<string, string | string[]>;

/** Headers a refusal carries besides its problem body (a challenge, a hint where to go instead). */
const attachedHeaders = new WeakMap<object, ProblemHeaders>();

/** Attaches headers to an error, for the answer that turns it into a problem. */
export function withProblemHeaders<E extends Error>(error: E, headers: ProblemHeaders): E {
  attachedHeaders.set(error, { ...attachedHeaders.get(error), ...headers });
  return error;
}

/** The headers of the problem answer to an error: Allow, Retry-After and any attached ones. */
export function problemHeaders(error: unknown): ProblemHeaders {
  const headers: ProblemHeaders = {};
  if (error instanceof MethodNotAllowedError) headers.Allow = error.allowed.join(", ");
  if (error instanceof RateLimitedError) headers["Retry-After"] = String(error.retryAfterSeconds);
  if (typeof error === "object" && error !== null) Object.assign(headers, attachedHeaders.get(error));
  return headers;
}

/**
 * The answer to a failed request, as every HTTP path writes it: the problem, its headers, and
 * the error logged (on the request's logger) when it is the server's fault.
 */
export function failedRequest(
  error: unknown,
  base: ProblemContext,
  log: Logger,
): { problem: Problem; headers: ProblemHeaders } {
  const problem = toProblem(error, base);
  if (problem.status >= 500) log.error({ err: error }, "request failed");
  return { problem, headers: problemHeaders(error) };
}

/**
 * The request path as a URI reference: Node accepts request lines with raw `<`, `>` or quotes,
 * and a problem must never hand such markup back as it came (a path like /snom/<script>.xml).
 */
function uriPath(path: string): string {
  return path.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@/%]/gu, (char) => encodeURIComponent(char));
}

/** Outermost error boundary: every failure becomes problem+json, with no stack trace ever. */
export function problemMiddleware(logger: Logger) {
  return async (ctx: Context, next: () => Promise<unknown>): Promise<void> => {
    try {
      await next();
    } catch (error) {
      const { problem, headers } = failedRequest(
        error,
        { instance: uriPath(ctx.path), requestId: ctx.state.requestId as string | undefined },
        (ctx.state.log as Logger | undefined) ?? logger,
      );
      ctx.set(headers);
      ctx.status = problem.status;
      ctx.type = problemContentType;
      ctx.body = problem;
    }
  };
}
