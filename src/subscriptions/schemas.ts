import { z } from "zod";
import { requestKinds, subscriptionSchema } from "./account-subscription.js";

const timestamp = z.iso.datetime();
const note = z.string().trim().min(1).max(1000);

export const accountParams = z.object({ id: z.uuid() });
export const requestParams = z.object({ id: z.uuid(), requestId: z.uuid() });

export const requestBody = z
  .object({ note: note.optional().describe("What the portal user wants the operator to know") })
  .strict()
  .prefault({})
  .meta({ id: "SubscriptionRequestBody", description: "May be left out" });
export const rejectBody = z
  .object({ reason: note.describe("Why, shown to the portal") })
  .strict()
  .meta({ id: "RejectSubscriptionRequest" });

export const subscriptionRequestSchema = z
  .object({
    id: z.uuid(),
    accountId: z.uuid(),
    kind: z.enum(requestKinds),
    status: z.enum(["pending", "approved", "rejected", "withdrawn"]),
    note: z.string().nullable(),
    endsOn: z.iso.date().nullable().describe("A deactivation's last contracted day"),
    requestedBy: z.string(),
    requestedAt: timestamp,
    decidedBy: z.string().nullable(),
    decidedAt: timestamp.nullable(),
    reason: z.string().nullable().describe("Why it was rejected"),
  })
  .meta({ id: "SubscriptionRequest" });

export const requestOutcomeSchema = z
  .object({ request: subscriptionRequestSchema, subscription: subscriptionSchema })
  .meta({ id: "SubscriptionRequestOutcome" });

export const requestHistorySchema = z
  .object({ items: z.array(subscriptionRequestSchema) })
  .meta({ id: "SubscriptionRequestHistory" });

export const accountSubscriptionSchema = z
  .object({ accountId: z.uuid(), subscription: subscriptionSchema })
  .meta({ id: "AccountSubscription" });
