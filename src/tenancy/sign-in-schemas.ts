import { z } from "zod";
import { userSchema } from "./schemas.js";

const timestamp = z.iso.datetime();

/** Longer than anyone types, short enough that hashing it costs nothing extra. */
export const passwordMaxLength = 1024;

export const signInBody = z
  .object({
    email: z.string().trim().min(1).max(254),
    password: z.string().min(1).max(passwordMaxLength),
  })
  .strict()
  .meta({ id: "SignIn" });

export const sessionSchema = z
  .object({
    id: z.uuid(),
    user: userSchema,
    csrfToken: z.string().describe("Send it as X-CSRF-Token on every POST, PUT, PATCH and DELETE"),
    createdAt: timestamp,
    expiresAt: timestamp.describe(
      "When the session ends unless used: the earlier of its idle and absolute end",
    ),
  })
  .meta({ id: "Session", description: "A console session; its secret is only in the cookie" });

export const sessionListItem = z
  .object({
    id: z.uuid(),
    createdAt: timestamp,
    lastSeenAt: timestamp,
    expiresAt: timestamp,
    address: z.string().nullable(),
    userAgent: z.string().nullable(),
    current: z.boolean().describe("The session this request is made with"),
  })
  .meta({ id: "SessionListItem" });
export const sessionList = z.object({ items: z.array(sessionListItem) }).meta({ id: "SessionList" });

export const sessionIdParams = z.object({ id: z.uuid() });

export const invitationSchema = z
  .object({
    messageId: z.uuid().describe("The e-mail in the outbox"),
    expiresAt: timestamp,
  })
  .meta({ id: "Invitation" });

export const passwordResetRequestBody = z
  .object({ email: z.string().trim().min(1).max(254) })
  .strict()
  .meta({ id: "PasswordResetRequest" });

export const passwordTokenParams = z.object({ token: z.string().min(1).max(200) });

/** The new password; its minimum length is the configured one, so the schema is made from it. */
export function newPasswordBody(minLength: number) {
  return z
    .object({
      password: z.string().min(minLength, `must be at least ${minLength} characters`).max(passwordMaxLength),
    })
    .strict()
    .meta({ id: "NewPassword" });
}

/** The signed-in user's own change: the current password proves it is them, not a left-open browser. */
export function changePasswordBody(minLength: number) {
  return z
    .object({
      currentPassword: z.string().min(1).max(passwordMaxLength),
      password: z.string().min(minLength, `must be at least ${minLength} characters`).max(passwordMaxLength),
    })
    .strict()
    .meta({ id: "ChangePassword" });
}
