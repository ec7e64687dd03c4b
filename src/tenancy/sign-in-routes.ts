import type { Context } from "koa";
import { assertSameOrigin, type CsrfOptions } from "../http/csrf.js";
import { sessionSecretOf } from "../http/request-credentials.js";
import { defineRoute, forRoles, publicAccess, type Route } from "../http/route.js";
import { clearedSessionCookie, sessionCookie } from "../http/session-cookie.js";
import { roles } from "./roles.js";
import type { Sessions } from "./sessions.js";
import * as s from "./sign-in-schemas.js";

const anyRole = forRoles(...roles);
const tags = ["sign-in"];

export interface SignInRouteOptions extends CsrfOptions {
  /** Whether the cookie gets Secure: served over HTTPS (directly or behind a TLS proxy). */
  secureCookie(ctx: Context): boolean;
}

/** The console's sign-in: sessions behind a cookie (docs/http-api.md, "Signing in"). */
export function sessionRoutes(sessions: Sessions, options: SignInRouteOptions): Route[] {
  return [
    defineRoute({
      operationId: "createSession",
      method: "post",
      path: "/api/v1/sessions",
      summary: "Sign in to the console",
      tags,
      access: publicAccess,
      request: { body: s.signInBody },
      response: {
        status: 201,
        description: "Signed in: the session, with its CSRF token; the cookie provisiond_session is set",
        schema: s.sessionSchema,
      },
      problems: [401, 403, 429],
      handle: async (input) => {
        // A sign-in another site's page makes would put the browser in the attacker's session.
        assertSameOrigin(input.ctx, options);
        const { secret, session } = await sessions.signIn(
          input.body,
          { address: input.request.remoteAddress, userAgent: input.ctx.get("User-Agent") || null },
          input.requestId,
        );
        input.ctx.set("Set-Cookie", sessionCookie(secret, options.secureCookie(input.ctx)));
        input.ctx.set("Cache-Control", "no-store");
        return session;
      },
    }),
    defineRoute({
      operationId: "getCurrentSession",
      method: "get",
      path: "/api/v1/sessions/current",
      summary: "Show the console session of the request",
      tags,
      access: anyRole,
      response: { status: 200, description: "The session, its user and CSRF token", schema: s.sessionSchema },
      handle: (input) => {
        input.ctx.set("Cache-Control", "no-store");
        return sessions.current(input.actor.principal, sessionSecretOf(input.ctx.headers));
      },
    }),
    defineRoute({
      operationId: "listSessions",
      method: "get",
      path: "/api/v1/sessions",
      summary: "List the caller's console sessions",
      tags,
      access: anyRole,
      response: { status: 200, description: "The caller's sessions, newest first", schema: s.sessionList },
      handle: (input) => sessions.list(input.actor.principal),
    }),
    // Before /sessions/{id}: the router serves the first route that matches.
    defineRoute({
      operationId: "deleteCurrentSession",
      method: "delete",
      path: "/api/v1/sessions/current",
      summary: "Sign out",
      tags,
      access: anyRole,
      response: { status: 204, description: "Signed out; the cookie is cleared" },
      handle: async (input) => {
        await sessions.endCurrent(input.actor);
        input.ctx.set("Set-Cookie", clearedSessionCookie(options.secureCookie(input.ctx)));
        input.ctx.status = 204;
        return undefined;
      },
    }),
    defineRoute({
      operationId: "deleteSession",
      method: "delete",
      path: "/api/v1/sessions/{id}",
      summary: "End one of the caller's console sessions",
      tags,
      access: anyRole,
      request: { params: s.sessionIdParams },
      response: { status: 204, description: "The session has ended" },
      handle: async (input) => {
        await sessions.end(input.actor, input.params.id);
        if (input.params.id === input.actor.principal.sessionId) {
          input.ctx.set("Set-Cookie", clearedSessionCookie(options.secureCookie(input.ctx)));
        }
        input.ctx.status = 204;
        return undefined;
      },
    }),
  ];
}
