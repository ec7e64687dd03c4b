/**
 * The one error hierarchy. HTTP maps it to application/problem+json (src/http/problem.ts);
 * the SIP stack will map it to a SIP status. Messages are safe to show to clients:
 * never put secrets or internal details in them.
 */
export interface FieldError {
  path: string;
  message: string;
}

export abstract class AppError extends Error {
  abstract readonly status: number;
  abstract readonly type: string;
  abstract readonly title: string;
}

export class ValidationError extends AppError {
  readonly status = 400;
  readonly type = "validation-error";
  readonly title = "Invalid request";
  constructor(
    readonly errors: FieldError[],
    detail = errors.map((e) => `${e.path}: ${e.message}`).join("; "),
  ) {
    super(detail);
  }
}

export class BadRequestError extends AppError {
  readonly status = 400;
  readonly type = "bad-request";
  readonly title = "Bad request";
}

export class UnauthorizedError extends AppError {
  readonly status = 401;
  readonly type = "unauthorized";
  readonly title = "Authentication required";
}

export class ForbiddenError extends AppError {
  readonly status = 403;
  readonly type = "forbidden";
  readonly title = "Not allowed";
}

/** A cookie-authenticated change without its session's CSRF token, or sent from another site. */
export class CsrfError extends AppError {
  readonly status = 403;
  // The console tells this refusal from a role's by the type's last segment.
  readonly type = "forbidden/csrf";
  readonly title = "Cross-site request refused";
}

export class NotFoundError extends AppError {
  readonly status = 404;
  readonly type = "not-found";
  readonly title = "Not found";
}

export class MethodNotAllowedError extends AppError {
  readonly status = 405;
  readonly type = "method-not-allowed";
  readonly title = "Method not allowed";
  constructor(
    readonly allowed: string[],
    detail = `allowed methods: ${allowed.join(", ")}`,
  ) {
    super(detail);
  }
}

export class ConflictError extends AppError {
  readonly status = 409;
  readonly type = "conflict";
  readonly title = "Conflict";
  /** The fields that clash, when the conflict is about fields (a taken username, a duplicate name). */
  constructor(
    detail: string,
    readonly errors: FieldError[] = [],
  ) {
    super(detail);
  }
}

export class GoneError extends AppError {
  readonly status = 410;
  readonly title = "Gone";
  /** A type of its own where clients must tell cases apart (a used or an expired activation link). */
  constructor(
    detail: string,
    readonly type: string = "gone",
  ) {
    super(detail);
  }
}

export class PayloadTooLargeError extends AppError {
  readonly status = 413;
  readonly type = "payload-too-large";
  readonly title = "Payload too large";
}

export class UnsupportedMediaTypeError extends AppError {
  readonly status = 415;
  readonly type = "unsupported-media-type";
  readonly title = "Unsupported media type";
}

export class UnprocessableError extends AppError {
  readonly status = 422;
  readonly type = "unprocessable";
  readonly title = "Action not possible";
}

export class RateLimitedError extends AppError {
  readonly status = 429;
  readonly type = "rate-limited";
  readonly title = "Too many requests";
  constructor(
    readonly retryAfterSeconds: number,
    detail = "too many requests",
  ) {
    super(detail);
  }
}

export class DependencyUnavailableError extends AppError {
  readonly status = 503;
  readonly type = "dependency-unavailable";
  readonly title = "Service unavailable";
}
