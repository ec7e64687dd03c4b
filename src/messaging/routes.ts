import { timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { NotFoundError, UnauthorizedError, ValidationError } from "../errors.js";
import { defineRoute, forRoles, publicAccess, type Route } from "../http/route.js";
import { roles, writerRoles } from "../tenancy/roles.js";
import type { AccountMessages } from "./account-messages.js";
import type { Delivery } from "./delivery.js";
import { callbackReport } from "./gateways/http-gateway.js";
import { choicePage, type InstallationClicks } from "./installation-clicks.js";
import type { MessageTemplates } from "./message-templates.js";
import * as s from "./schemas.js";
import type { TemplateKind } from "./templates.js";

const anyRole = forRoles(...roles);
const writers = forRoles(...writerRoles);
const templateWriters = forRoles("operator", "company_admin");
const idParams = z.object({ id: z.uuid() });

export interface MessagingRouteParts {
  messages: AccountMessages;
  clicks: InstallationClicks;
  templates: MessageTemplates;
  delivery: Delivery;
  /** The HTTP gateway's callback secret; null refuses every callback. */
  callbackSecret: string | null;
}

const sameSecret = (given: string, expected: string): boolean => {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
};

function organisationOf(own: string | null | undefined, named: string | undefined): string {
  const id = named ?? own;
  if (!id) throw new ValidationError([{ path: "query.organisationId", message: "name the organisation" }]);
  return id;
}

export function messagingRoutes(parts: MessagingRouteParts): Route[] {
  const tags = ["messaging"];
  return [
    defineRoute({
      operationId: "sendInstallationSms",
      method: "post",
      path: "/api/v1/accounts/{id}/installation-sms",
      summary: "Send Installation Sms: queue an SMS with the app's download link (/i/{code})",
      tags,
      access: writers,
      request: { params: idParams },
      response: { status: 201, description: "The queued message", schema: s.messageSchema },
      problems: [422],
      handle: (input) => parts.messages.sendInstallationSms(input.actor, input.params.id),
    }),
    defineRoute({
      operationId: "sendActivationSms",
      method: "post",
      path: "/api/v1/accounts/{id}/activation-sms",
      summary: "Send Activation Sms: a new one-time activation link (older ones stop working), by SMS",
      tags,
      access: writers,
      request: { params: idParams },
      response: { status: 201, description: "The queued message", schema: s.messageSchema },
      problems: [422],
      handle: (input) => parts.messages.sendActivationSms(input.actor, input.params.id),
    }),
    defineRoute({
      operationId: "createActivationLink",
      method: "post",
      path: "/api/v1/accounts/{id}/activation-link",
      summary:
        "A new one-time activation link with its QR code, for devices without SMS; optionally e-mailed",
      tags,
      access: writers,
      request: { params: idParams, body: s.activationLinkBody },
      response: {
        status: 201,
        description: "The link, its expiry and a QR code (SVG)",
        schema: s.activationLinkSchema,
      },
      problems: [422],
      handle: (input) => parts.messages.createActivationLink(input.actor, input.params.id, input.body),
    }),
    defineRoute({
      operationId: "listAccountMessages",
      method: "get",
      path: "/api/v1/accounts/{id}/messages",
      summary: "The account's SMS and e-mails, newest first, with status history",
      tags,
      access: anyRole,
      request: { params: idParams, query: s.messageListQuery },
      response: { status: 200, description: "The messages", schema: s.messageList },
      handle: (input) => parts.messages.list(input.actor, input.params.id, input.query.limit),
    }),
    defineRoute({
      operationId: "openInstallationLink",
      method: "get",
      path: "/i/{code}",
      summary: "An installation link: records the click, redirects to the platform's app store",
      tags,
      access: publicAccess,
      request: {
        params: z.object({ code: z.string().regex(/^[A-Za-z0-9_-]{4,64}$/, "is not a link code") }),
      },
      response: {
        status: 302,
        description: "To the App Store or Google Play; a page with both for other platforms",
      },
      handle: async (input) => {
        const answer = await parts.clicks.click(input.params.code, input.request.headers["user-agent"] ?? "");
        input.ctx.set("Cache-Control", "no-store");
        if (answer.kind === "redirect") {
          input.ctx.redirect(answer.location);
        } else {
          input.ctx.status = 200;
          input.ctx.type = "text/html; charset=utf-8";
          input.ctx.body = choicePage(answer.links);
        }
        return undefined;
      },
    }),
    defineRoute({
      operationId: "listMessageTemplates",
      method: "get",
      path: "/api/v1/organisations/{id}/message-templates",
      summary: "The organisation's message templates: its own where it has them, else the built-in ones",
      tags,
      access: templateWriters,
      request: { params: idParams },
      response: { status: 200, description: "Every kind in every language", schema: s.templateList },
      handle: (input) => parts.templates.list(input.actor, input.params.id),
    }),
    defineRoute({
      operationId: "putMessageTemplate",
      method: "put",
      path: "/api/v1/organisations/{id}/message-templates/{kind}/{language}",
      summary: "Override a message template for the organisation (refused if it would not render)",
      tags,
      access: templateWriters,
      request: { params: s.templateParams, body: s.templateBody },
      response: { status: 200, description: "The template in effect", schema: s.templateSchema },
      handle: (input) =>
        parts.templates.put(
          input.actor,
          input.params.id,
          input.params.kind as TemplateKind,
          input.params.language,
          input.body,
        ),
    }),
    defineRoute({
      operationId: "resetMessageTemplate",
      method: "delete",
      path: "/api/v1/organisations/{id}/message-templates/{kind}/{language}",
      summary: "Drop the organisation's override: the built-in template applies again",
      tags,
      access: templateWriters,
      request: { params: s.templateParams },
      response: { status: 200, description: "The template in effect", schema: s.templateSchema },
      handle: (input) =>
        parts.templates.reset(
          input.actor,
          input.params.id,
          input.params.kind as TemplateKind,
          input.params.language,
        ),
    }),
    // The starting contract's paths: the caller's organisation, or ?organisationId= for operators.
    defineRoute({
      operationId: "listOwnMessageTemplates",
      method: "get",
      path: "/api/v1/message-templates",
      summary: "The message templates of the caller's organisation (operators name it)",
      tags,
      access: templateWriters,
      request: { query: s.templateOrganisationQuery },
      response: { status: 200, description: "Every kind in every language", schema: s.templateList },
      handle: (input) =>
        parts.templates.list(
          input.actor,
          organisationOf(input.principal?.organisationId, input.query.organisationId),
        ),
    }),
    defineRoute({
      operationId: "putOwnMessageTemplate",
      method: "put",
      path: "/api/v1/message-templates/{kind}/{language}",
      summary: "Override a message template of the caller's organisation (operators name it)",
      tags,
      access: templateWriters,
      request: {
        params: s.templateParams.omit({ id: true }),
        query: s.templateOrganisationQuery,
        body: s.templateBody,
      },
      response: { status: 200, description: "The template in effect", schema: s.templateSchema },
      handle: (input) =>
        parts.templates.put(
          input.actor,
          organisationOf(input.principal?.organisationId, input.query.organisationId),
          input.params.kind as TemplateKind,
          input.params.language,
          input.body,
        ),
    }),
    defineRoute({
      operationId: "resetOwnMessageTemplate",
      method: "delete",
      path: "/api/v1/message-templates/{kind}/{language}",
      summary: "Drop the override of the caller's organisation (operators name it)",
      tags,
      access: templateWriters,
      request: { params: s.templateParams.omit({ id: true }), query: s.templateOrganisationQuery },
      response: { status: 200, description: "The template in effect", schema: s.templateSchema },
      handle: (input) =>
        parts.templates.reset(
          input.actor,
          organisationOf(input.principal?.organisationId, input.query.organisationId),
          input.params.kind as TemplateKind,
          input.params.language,
        ),
    }),
    defineRoute({
      operationId: "gatewayStatusCallback",
      method: "post",
      path: "/api/v1/messaging/status-callbacks/{secret}",
      summary: "The HTTP SMS gateway reports delivery (Twilio form fields or JSON id/status/reason)",
      tags,
      access: publicAccess,
      request: {
        params: z.object({ secret: z.string().max(200) }),
        body: s.statusCallbackBody,
        bodyType: "form",
      },
      response: { status: 204, description: "Recorded" },
      problems: [401, 404],
      handle: async (input) => {
        if (!parts.callbackSecret || !sameSecret(input.params.secret, parts.callbackSecret)) {
          throw new UnauthorizedError("unknown status callback");
        }
        const report = callbackReport(input.body);
        if (!report) {
          throw new ValidationError([
            {
              path: "body",
              message: "needs a message id (MessageSid or id) and a status (MessageStatus or status)",
            },
          ]);
        }
        const known = await parts.delivery.applyReport("http", report);
        if (!known) throw new NotFoundError(`no message with gateway id ${report.gatewayMessageId}`);
        input.ctx.status = 204;
        return undefined;
      },
    }),
  ];
}
