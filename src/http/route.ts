import type { IncomingHttpHeaders } from "node:http";
import type { Context } from "koa";
import type { z } from "zod";
import type { Actor } from "../audit/actor.js";
import type { Principal, Role } from "../tenancy/roles.js";

export type HttpMethod = "get" | "post" | "put" | "patch" | "delete";
export type BodyType = "json" | "csv" | "form" | "wav";

export const bodyContentTypes: Record<BodyType, string> = {
  json: "application/json",
  csv: "text/csv",
  // Gateways' status callbacks: HTML form posts (Twilio) or JSON.
  form: "application/x-www-form-urlencoded",
  // Uploaded announcements: the file's bytes, handed to the route as a Buffer.
  wav: "audio/wav",
};

/** What a route needs from its caller; checked by the router before the handler runs. */
export type Access = { kind: "public" } | { kind: "token"; roles: readonly Role[] };

export const publicAccess: Access & { kind: "public" } = { kind: "public" };
export const forRoles = (...roles: Role[]): Access => ({ kind: "token", roles });

type AnyObject = z.ZodObject<z.ZodRawShape>;

export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  principal: Principal | null;
  /** The caller as services take it (principal and request id); token routes only. */
  actor: Actor;
  requestId: string;
  ctx: Context;
  /** The request line, headers and peer, the same on the Koa path and on the fast path. */
  request: RawRequest;
}

/** A request as a handler without a Koa context sees it. */
export interface RawRequest {
  method: string;
  /** Path and query, as sent. */
  url: string;
  headers: IncomingHttpHeaders;
  remoteAddress: string;
}

/** A whole answer: status, headers and the exact body bytes (Content-Length is the HTTP layer's). */
export interface HttpAnswer {
  status: number;
  /** A list is sent as one header line per value. */
  headers: Record<string, string | string[]>;
  body: Buffer;
}

/** What a fast-path handler gets: no Koa context, no principal (fast-path routes are public). */
export interface FastRouteInput<B> {
  body: B;
  requestId: string;
  request: RawRequest;
}

export interface RouteSpec<
  P extends AnyObject | undefined,
  Q extends AnyObject | undefined,
  B extends z.ZodType | undefined,
  R extends z.ZodType | undefined,
> {
  operationId: string;
  method: HttpMethod;
  /** OpenAPI form: /api/v1/organisations/{id} */
  path: string;
  summary: string;
  tags: string[];
  access: Access;
  /**
   * bodyType "csv" takes a text/csv body as a string, "form" a form post or JSON, "wav" an
   * audio/wav body as a Buffer; the default is JSON.
   */
  request?: { params?: P; query?: Q; body?: B; bodyType?: BodyType };
  response: { status: number; description: string; schema?: R; contentType?: string };
  /** Problem statuses this route can answer besides the ones every route shares. */
  problems?: number[];
  /**
   * Returns the response body, parsed by `response.schema` on the way out; a handler that
   * writes ctx.body itself (streams, text) returns undefined.
   */
  handle(
    input: RouteInput<Infer<P>, Infer<Q>, Infer<B>>,
  ): Promise<Output<R> | undefined> | Output<R> | undefined;
}

/**
 * A route that is also served in front of the Koa app (src/http/fast-path.ts), for hot public
 * endpoints that devices call all day: a request with a JSON body and a Content-Length is answered
 * without the Koa chain, any other goes to the Koa route, and both run the same handler, which
 * returns the whole answer. Errors it throws become the same problems on either path (headers
 * for them are attached with withProblemHeaders). A fast-path route has no path parameters or
 * query, and its body is JSON.
 */
export interface FastRouteSpec<B extends z.ZodType, R extends z.ZodType | undefined>
  extends Omit<RouteSpec<undefined, undefined, B, R>, "request" | "handle" | "access"> {
  fastPath: true;
  access: { kind: "public" };
  request: { body: B };
  handle(input: FastRouteInput<z.output<B>>): Promise<HttpAnswer>;
}

type Infer<S> = S extends z.ZodType ? z.output<S> : undefined;
type Output<R> = R extends z.ZodType ? z.input<R> : unknown;

/** A route with its types erased, as the router and the OpenAPI generator see it. */
export interface Route {
  operationId: string;
  method: HttpMethod;
  path: string;
  summary: string;
  tags: string[];
  access: Access;
  request?: { params?: AnyObject; query?: AnyObject; body?: z.ZodType; bodyType?: BodyType };
  response: { status: number; description: string; schema?: z.ZodType; contentType?: string };
  problems?: number[];
  /** Served by src/http/fast-path.ts too; handle then returns an HttpAnswer (see FastRouteSpec). */
  fastPath?: boolean;
  handle(input: RouteInput<unknown, unknown, unknown>): Promise<unknown> | unknown;
}

export function defineRoute<B extends z.ZodType, R extends z.ZodType | undefined = undefined>(
  spec: FastRouteSpec<B, R>,
): Route;
export function defineRoute<
  P extends AnyObject | undefined = undefined,
  Q extends AnyObject | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
  R extends z.ZodType | undefined = undefined,
>(spec: RouteSpec<P, Q, B, R>): Route;
export function defineRoute(spec: object): Route {
  return spec as unknown as Route;
}

/** /api/v1/organisations/{id} -> /api/v1/organisations/:id */
export function koaPath(openApiPath: string): string {
  return openApiPath.replace(/\{([A-Za-z0-9_]+)\}/g, ":$1");
}
