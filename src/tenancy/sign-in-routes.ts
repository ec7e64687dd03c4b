import type { Context } from "koa";
import { assertSameOrigin, type CsrfOptions } from "../http/csrf.js";
import { sessionSecretOf } from "../http/request-credentials.js";
import { defineRoute, forRoles, publicAccess, type Route } from "../http/route.js";
import { clearedSessionCookie, sessionCookie } from "../http/session-cookie.js";
import type { Passwords } from "./passwords.js";
import { roles, writerRoles } from "./roles.js";
import { idParams } from "./schemas.js";
import type { Sessions } from "./sessions.js";
import * as s from "./sign-in-schemas.js";

const anyRole = forRoles(...roles);
const writers = forRoles(...writerRoles);
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

/** Invitations, password resets and the links they send (docs/http-api.md, "Signing in"). */
export function passwordRoutes(passwords: Passwords, passwordMinLength: number): Route[] {
  return [
    defineRoute({
      operationId: "inviteUser",
      method: "post",
      path: "/api/v1/users/{id}/invitation",
      summary: "Invite users to set a console password",
      tags,
      access: writers,
      request: { params: idParams },
      response: {
        status: 202,
        description: "The invitation e-mail is in the outbox, with a one-time link to set a password",
        schema: s.invitationSchema,
      },
      problems: [409],
      handle: (input) => passwords.invite(input.actor, input.params.id),
    }),
    defineRoute({
      operationId: "changeOwnPassword",
      method: "post",
      path: "/api/v1/me/password",
      summary: "Change the caller's own console password",
      tags,
      access: anyRole,
      request: { body: s.changePasswordBody(passwordMinLength) },
      response: { status: 204, description: "Changed; the caller's other console sessions have ended" },
      problems: [429],
      handle: async (input) => {
        await passwords.changeOwn(input.actor, input.body.currentPassword, input.body.password);
        input.ctx.status = 204;
        return undefined;
      },
    }),
    defineRoute({
      operationId: "requestPasswordReset",
      method: "post",
      path: "/api/v1/password-reset",
      summary: "Ask for a password reset e-mail",
      tags,
      access: publicAccess,
      request: { body: s.passwordResetRequestBody },
      response: {
        status: 202,
        description: "Accepted, whether or not the e-mail is a user's: a user who may sign in gets a link",
      },
      handle: async (input) => {
        await passwords.requestReset(
          input.body.email,
          { address: input.request.remoteAddress, userAgent: input.ctx.get("User-Agent") || null },
          input.requestId,
        );
        input.ctx.status = 202;
        return undefined;
      },
    }),
    defineRoute({
      operationId: "setPasswordWithToken",
      method: "post",
      path: "/api/v1/password-reset/{token}",
      summary: "Set a password with an invitation or reset link",
      tags,
      access: publicAccess,
      request: { params: s.passwordTokenParams, body: s.newPasswordBody(passwordMinLength) },
      response: { status: 204, description: "The password is set; the user's sessions have ended" },
      problems: [404, 410],
      handle: async (input) => {
        await passwords.setWithToken(input.params.token, input.body.password);
        input.ctx.status = 204;
        return undefined;
      },
    }),
  ];
}
