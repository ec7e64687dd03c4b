import type { RequestListener } from "node:http";
import { bodyParser } from "@koa/bodyparser";
import Router from "@koa/router";
import Koa, { type Context, type Next } from "koa";
import type { Actor } from "../audit/actor.js";
import type { FailureLimiter } from "../auth/failure-limiter.js";
import {
  ForbiddenError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  RateLimitedError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
} from "../errors.js";
import type { Logger } from "../logger.js";
import type { Principal } from "../tenancy/roles.js";
import { consoleFiles } from "./console-files.js";
import { type CsrfOptions, csrfProtection } from "./csrf.js";
import { withFastPaths } from "./fast-path.js";
import type { Metrics } from "./metrics.js";
import { problemMiddleware } from "./problem.js";
import { requestContext } from "./request-context.js";
import { bearerToken, sessionSecretOf } from "./request-credentials.js";
import { type BodyType, type HttpAnswer, koaPath, type Route } from "./route.js";
import { clearedSessionCookie } from "./session-cookie.js";
import { validate } from "./validate.js";

export interface HttpAppDependencies {
  logger: Logger;
  metrics: Metrics;
  routes: readonly Route[];
  bodyLimitBytes: number;
  /** Limit of text/csv bodies (account imports). */
  importLimitBytes: number;
  /** Limit of audio/wav bodies (uploaded announcements); importLimitBytes unless given. */
  audioLimitBytes?: number;
  authenticate(bearer: string | undefined): Promise<Principal>;
  /**
   * Resolves a console session cookie's secret (src/tenancy/sessions.ts); without it the cookie
   * is ignored and only bearer tokens authenticate.
   */
  authenticateSession?(secret: string): Promise<Principal>;
  /** CSRF checks of cookie-authenticated changes (src/http/csrf.ts). */
  csrf?: CsrfOptions;
  /**
   * Refused API tokens per client address (src/auth, the same limiter SIP and license checks use).
   * Past the limit the address's refused tokens get 429; valid ones are still served.
   */
  authFailures: FailureLimiter;
  isShuttingDown(): boolean;
  /** The built web console served at /console/ (src/http/console-files.ts); left out: not served. */
  console?: { dir: string | null };
}

type Middleware = (ctx: Context, next: Next) => Promise<unknown>;

const acceptedTypes: Record<BodyType, string[]> = {
  json: ["application/json", "application/*+json"],
  csv: ["text/csv"],
  form: ["application/x-www-form-urlencoded", "application/json"],
  wav: ["audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"],
};

/** Reads the body as bytes into ctx.request.body, refusing more than limitBytes with 413. */
function rawBody(limitBytes: number): Middleware {
  return async (ctx) => {
    const tooLarge = () => new PayloadTooLargeError(`the request body is larger than ${limitBytes} bytes`);
    const declared = ctx.request.length;
    if (declared !== undefined && declared > limitBytes) throw tooLarge();
    const body = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const onData = (chunk: Buffer) => {
        size += chunk.length;
        if (size <= limitBytes) {
          chunks.push(chunk);
          return;
        }
        // The rest is read and dropped, so the 413 reaches the client over the same connection.
        ctx.req.off("data", onData);
        ctx.req.resume();
        reject(tooLarge());
      };
      ctx.req.on("data", onData);
      ctx.req.once("end", () => resolve(Buffer.concat(chunks)));
      ctx.req.once("error", reject);
    });
    (ctx.request as { body?: unknown }).body = body;
  };
}

function routeHandler(route: Route, deps: HttpAppDependencies, parsers: Record<BodyType, Middleware>) {
  return async (ctx: Context): Promise<void> => {
    let principal: Principal | null = null;
    if (route.access.kind === "token") {
      // A blocked address is still heard: a portal backend or a reverse proxy speaks for many
      // users, and one of them sending bad tokens must not lock the others out. Only its refused
      // tokens get 429 instead of 401; a valid token is served. (Guessing a 256-bit token is hopeless
      // anyway: the block is a signal and a brake on noise, not what keeps tokens secret.)
      const bearer = bearerToken(ctx.headers);
      const sessionSecret = bearer ? undefined : sessionSecretOf(ctx.headers);
      const blockedFor = deps.authFailures.blockedForSeconds(ctx.ip);
      if (sessionSecret && deps.authenticateSession) {
        try {
          principal = await deps.authenticateSession(sessionSecret);
        } catch (error) {
          // An ended session's cookie is dropped, so the browser stops sending it. Stale cookies
          // are not counted as attacks: a 256-bit secret is not guessed.
          if (error instanceof UnauthorizedError) ctx.set("Set-Cookie", clearedSessionCookie(false));
          throw error;
        }
      } else {
        try {
          principal = await deps.authenticate(bearer);
        } catch (error) {
          if (error instanceof UnauthorizedError) {
            deps.metrics.authFailures.inc();
            const failures = deps.authFailures.recordFailure(ctx.ip).count;
            if (blockedFor > 0) {
              throw new RateLimitedError(
                blockedFor,
                "too many requests with an invalid API token from this address; try again later",
              );
            }
            ctx.set("WWW-Authenticate", 'Bearer realm="provisiond"');
            (ctx.state.log as Logger).warn(
              { security: "api-token-refused", remoteAddress: ctx.ip, failures },
              "API token refused",
            );
          }
          throw error;
        }
      }
      if (!route.access.roles.includes(principal.role)) {
        throw new ForbiddenError(`role ${principal.role} may not ${route.summary.toLowerCase()}`);
      }
      ctx.state.log = (ctx.state.log as Logger).child({
        userId: principal.userId,
        tokenId: principal.tokenId,
        ...(principal.sessionId ? { sessionId: principal.sessionId } : {}),
      });
    }
    // Only routes that take a body read one, and only after the caller is known.
    if (route.request?.body) {
      const bodyType = route.request.bodyType ?? "json";
      // is() answers false for a body of another type, null when there is no body at all.
      // No Content-Length and no Transfer-Encoding is no body either (RFC 9112 section 6.3).
      const emptyBody =
        ctx.request.length === 0 || (ctx.request.length === undefined && !ctx.get("transfer-encoding"));
      const accepted = acceptedTypes[bodyType];
      if (!emptyBody && ctx.request.is(...accepted) === false) {
        throw new UnsupportedMediaTypeError(`send the request body as ${accepted[0]}`);
      }
      if (!emptyBody) await parsers[bodyType](ctx, async () => {});
    }
    const params = route.request?.params ? validate(route.request.params, ctx.params, "params") : undefined;
    const query = route.request?.query ? validate(route.request.query, ctx.query, "query") : undefined;
    const body = route.request?.body ? validate(route.request.body, ctx.request.body, "body") : undefined;

    const requestId = ctx.state.requestId as string;
    const result = await route.handle({
      params,
      query,
      body,
      principal,
      get actor(): Actor {
        if (!principal) throw new Error(`${route.operationId} is public: it has no actor`);
        return { principal, requestId };
      },
      requestId,
      ctx,
      request: { method: ctx.method, url: ctx.url, headers: ctx.headers, remoteAddress: ctx.ip },
    });
    if (route.fastPath) {
      // The same whole answer the fast path writes (src/http/fast-path.ts).
      const answer = result as HttpAnswer;
      ctx.status = answer.status;
      ctx.set(answer.headers);
      ctx.body = answer.body;
      return;
    }
    if (result === undefined) return;
    ctx.status = route.response.status;
    // Parsing on the way out strips any field the contract does not name.
    ctx.body = route.response.schema ? route.response.schema.parse(result) : result;
  };
}

/** Turns the router's bare 404/405 answers into problems. */
async function unmatchedRoutes(ctx: Context, next: Next): Promise<void> {
  await next();
  if (ctx.body !== undefined && ctx.body !== null) return;
  if (ctx.status === 405 || ctx.status === 501) {
    const allowed = ctx.response.get("Allow");
    throw new MethodNotAllowedError(allowed ? allowed.split(/,\s*/) : []);
  }
  if (ctx.status === 404) throw new NotFoundError(`no resource at ${ctx.method} ${ctx.path}`);
}

export function createHttpApp(deps: HttpAppDependencies): Koa {
  const app = new Koa({ proxy: false });
  const router = new Router();
  const parsers = {
    json: bodyParser({
      enableTypes: ["json"],
      jsonLimit: deps.bodyLimitBytes,
      jsonStrict: true,
      encoding: "utf-8",
    }) as Middleware,
    csv: bodyParser({
      enableTypes: ["text"],
      extendTypes: { text: ["text/csv"] },
      textLimit: deps.importLimitBytes,
      encoding: "utf-8",
    }) as Middleware,
    form: bodyParser({
      enableTypes: ["form", "json"],
      formLimit: deps.bodyLimitBytes,
      jsonLimit: deps.bodyLimitBytes,
      encoding: "utf-8",
    }) as Middleware,
    wav: rawBody(deps.audioLimitBytes ?? deps.importLimitBytes),
  };
  const csrf = csrfProtection(deps.csrf ?? { trustedHosts: () => [] });
  for (const route of deps.routes) {
    const handler = routeHandler(route, deps, parsers);
    if (route.access.kind === "token" && route.method !== "get") {
      router[route.method](route.operationId, koaPath(route.path), csrf, handler);
    } else {
      router[route.method](route.operationId, koaPath(route.path), handler);
    }
  }

  app.use(requestContext(deps.logger, deps.metrics));
  app.use(async (ctx, next) => {
    await next();
    // While draining, ask keep-alive clients to reconnect (to another instance) after this answer.
    if (deps.isShuttingDown()) ctx.set("Connection", "close");
  });
  app.use(problemMiddleware(deps.logger));
  app.use(unmatchedRoutes);
  if (deps.console) app.use(consoleFiles(deps.console));
  app.use(router.routes());
  app.use(router.allowedMethods());
  // Koa would otherwise print errors that escaped every middleware to stderr.
  app.silent = true;
  return app;
}

/** The server's request listener: the fast-path routes (src/http/fast-path.ts) in front of the Koa app. */
export function createHttpListener(deps: HttpAppDependencies): RequestListener {
  return withFastPaths(deps, createHttpApp(deps).callback());
}
