import { z } from "zod";
import { templateKindNames, templateLanguages } from "./templates.js";

const timestamp = z.iso.datetime();
const statuses = ["queued", "sending", "sent", "delivered", "failed", "clicked"] as const;

export const messageSchema = z
  .object({
    id: z.uuid(),
    channel: z.enum(["sms", "email"]),
    kind: z.string(),
    to: z.string(),
    status: z.enum(statuses),
    text: z.string().nullable(),
    subject: z.string().nullable(),
    encoding: z.string().nullable(),
    segments: z.number().int().nullable(),
    gateway: z.string().nullable(),
    attempts: z.number().int(),
    failureReason: z.string().nullable(),
    idempotencyKey: z.string(),
    createdAt: timestamp,
    sentAt: timestamp.nullable(),
    deliveredAt: timestamp.nullable(),
    clickedAt: timestamp.nullable(),
    clickPlatform: z.string().nullable(),
    history: z.array(z.object({ status: z.enum(statuses), at: timestamp, detail: z.string().nullable() })),
  })
  .meta({ id: "Message" });

export const messageList = z.object({ items: z.array(messageSchema) }).meta({ id: "MessageList" });
export const messageListQuery = z
  .object({ limit: z.coerce.number().int().min(1).max(200).default(50) })
  .strict();

export const activationLinkBody = z
  .object({
    /** Sends the link to this address as well as answering it. */
    email: z.email().max(320).optional(),
  })
  .strict()
  .optional()
  .meta({ id: "ActivationLinkRequest" });

export const activationLinkSchema = z
  .object({
    url: z.url(),
    expiresAt: timestamp,
    qrSvg: z.string(),
    message: messageSchema.nullable(),
  })
  .meta({ id: "ActivationLink" });

export const templateParams = z.object({
  id: z.uuid(),
  kind: z.enum(templateKindNames as [string, ...string[]]),
  language: z.enum(templateLanguages),
});

export const templateOrganisationQuery = z.object({ organisationId: z.uuid().optional() }).strict();

export const templateBody = z
  .object({
    subject: z.string().trim().min(1).max(300).nullable().optional(),
    body: z.string().min(1).max(2000),
  })
  .strict()
  .meta({ id: "MessageTemplateChange" });

export const templateSchema = z
  .object({
    kind: z.string(),
    language: z.enum(templateLanguages),
    channel: z.enum(["sms", "email"]),
    placeholders: z.array(z.string()),
    subject: z.string().nullable(),
    body: z.string(),
    overridden: z.boolean(),
    updatedAt: timestamp.nullable(),
  })
  .meta({ id: "MessageTemplate" });
export const templateList = z.object({ items: z.array(templateSchema) }).meta({ id: "MessageTemplateList" });

/** A gateway's status callback: the Twilio form (MessageSid, MessageStatus, ErrorCode) or generic JSON (id, status, reason). */
export const statusCallbackBody = z.record(z.string(), z.unknown()).meta({ id: "GatewayStatusCallback" });
