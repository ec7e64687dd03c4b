import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { AppError, BadRequestError, RateLimitedError, ValidationError } from "../errors.js";
import type { Metrics } from "../http/metrics.js";
import { problemContentType } from "../http/problem.js";
import { validate } from "../http/validate.js";
import { ids } from "../ids.js";
import type { Logger } from "../logger.js";
import type { LicenseClientAuthenticator } from "./client-auth.js";
import type { EnvelopeSigner } from "./envelope-signer.js";
import { envelopeKeyIdHeader, envelopeSignatureHeader, vendorUrlHeader } from "./routes.js";
import { licenseCheckBody } from "./schemas.js";
import { DirectLicenseModeError, type LicenseService } from "./service.js";

const path = "/license/check";
/** A check body is a domain and a fingerprint: anything much larger is not one. */
const maxBodyBytes = 4096;
const acceptableRequestId = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The hot path of POST /license/check, in front of the Koa app: an authenticated check (one
 * that carries a Digest Authorization) is answered here, without the per-request router, body
 * parser chain and Koa context, because devices repeat it all day and a cache hit should cost
 * little more than writing the signed bytes. It keeps what every route shares: request id,
 * access log line, duration metric, problem+json errors, Connection: close while draining.
 * Everything else, the first (unauthenticated) request that gets the challenge included, goes
 * to the Koa route of the same path, which gives the same answers.
 */
export function licenseCheckFastPath(
  deps: {
    licenses: LicenseService;
    authenticator: LicenseClientAuthenticator;
    signer: EnvelopeSigner;
    metrics: Metrics;
    logger: Logger;
    isShuttingDown(): boolean;
  },
  next: RequestListener,
): RequestListener {
  return (req, res) => {
    const authorization = req.headers.authorization;
    const length = Number(req.headers["content-length"]);
    if (
      req.method !== "POST" ||
      req.url !== path ||
      authorization === undefined ||
      !authorization.startsWith("Digest ") ||
      !(length > 0 && length <= maxBodyBytes) ||
      !isJson(req.headers["content-type"])
    ) {
      next(req, res);
      return;
    }
    const started = process.hrtime.bigint();
    const incoming = req.headers["x-request-id"];
    const requestId =
      typeof incoming === "string" && acceptableRequestId.test(incoming) ? incoming : ids.uuid();
    const chunks: Buffer[] = [];
    let received = 0;
    req.on("data", (chunk: Buffer) => {
      received += chunk.length;
      if (received <= maxBodyBytes) chunks.push(chunk);
    });
    req.on("end", () => {
      void answer(deps, req, res, requestId, authorization, Buffer.concat(chunks)).finally(() =>
        finish(deps, req, res, requestId, started),
      );
    });
  };
}

function isJson(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const type = contentType.split(";", 1)[0]?.trim().toLowerCase();
  return type === "application/json";
}

async function answer(
  deps: Parameters<typeof licenseCheckFastPath>[0],
  req: IncomingMessage,
  res: ServerResponse,
  requestId: string,
  authorization: string,
  raw: Buffer,
): Promise<void> {
  res.setHeader("X-Request-Id", requestId);
  if (deps.isShuttingDown()) res.setHeader("Connection", "close");
  try {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString("utf8"));
    } catch {
      throw new BadRequestError("the request body is not valid JSON");
    }
    const body = validate(licenseCheckBody, parsed, "body");
    const auth = await deps.authenticator.authenticate({
      authorization,
      method: "POST",
      uri: req.url ?? path,
      realm: body.sipDomain,
      address: req.socket.remoteAddress ?? "",
    });
    if (!auth.ok) {
      res.setHeader("WWW-Authenticate", auth.challenge);
      writeProblem(res, 401, "unauthorized", "Authentication required", auth.reason, requestId);
      return;
    }
    const envelope = await deps.licenses.check(auth.client, body.fingerprint);
    res.writeHead(200, {
      "Content-Type": "application/json; charset=utf-8",
      "Content-Length": envelope.body.length,
      [envelopeSignatureHeader]: envelope.signature,
      [envelopeKeyIdHeader]: deps.signer.keyId,
      "Cache-Control": "no-store",
    });
    res.end(envelope.body);
  } catch (error) {
    if (error instanceof DirectLicenseModeError && error.vendorUrl)
      res.setHeader(vendorUrlHeader, error.vendorUrl);
    if (error instanceof RateLimitedError) res.setHeader("Retry-After", String(error.retryAfterSeconds));
    if (error instanceof AppError) {
      writeProblem(res, error.status, error.type, error.title, error.message, requestId, error);
      return;
    }
    deps.logger.child({ requestId }).error({ err: error }, "request failed");
    writeProblem(
      res,
      500,
      "internal-error",
      "Internal server error",
      `an unexpected error occurred; quote request id ${requestId} to the operator`,
      requestId,
    );
  }
}

/** The same problem+json the Koa app writes (src/http/problem.ts). */
function writeProblem(
  res: ServerResponse,
  status: number,
  type: string,
  title: string,
  detail: string,
  requestId: string,
  error?: AppError,
): void {
  const problem: Record<string, unknown> = {
    type: `urn:provisiond:problem:${type}`,
    title,
    status,
    detail,
    instance: path,
    requestId,
  };
  if (error instanceof ValidationError) problem.errors = error.errors;
  const body = Buffer.from(JSON.stringify(problem));
  res.writeHead(status, {
    "Content-Type": `${problemContentType}; charset=utf-8`,
    "Content-Length": body.length,
  });
  res.end(body);
}

function finish(
  deps: Parameters<typeof licenseCheckFastPath>[0],
  req: IncomingMessage,
  res: ServerResponse,
  requestId: string,
  started: bigint,
): void {
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  deps.metrics.httpRequestDuration.observe(
    { method: "POST", route: path, status: String(res.statusCode) },
    seconds,
  );
  const line = {
    requestId,
    method: "POST",
    path,
    route: path,
    status: res.statusCode,
    durationMs: Math.round(seconds * 1e5) / 100,
    remoteAddress: req.socket.remoteAddress,
  };
  if (res.statusCode >= 500) deps.logger.error(line, "request");
  else if (deps.logger.isLevelEnabled("info")) deps.logger.info(line, "request");
}
