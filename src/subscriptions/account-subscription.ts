import { z } from "zod";
import { type BillingPlan, billingPlans, dayFromColumn } from "./periods.js";

/**
 * The subscription of an account as its row keeps it and as the API shows it. The accounts
 * capability embeds it in every account view; the columns are written by this capability alone.
 */
export const subscriptionStates = ["activation_pending", "active", "deactivation_pending", "ended"] as const;
export type SubscriptionState = (typeof subscriptionStates)[number];
export const requestKinds = ["activation", "deactivation"] as const;
export type RequestKind = (typeof requestKinds)[number];

export interface SubscriptionColumns {
  billing_plan: BillingPlan;
  renews_on: Date | string | null;
  subscription_state: SubscriptionState;
  subscription_ends_on: Date | string | null;
  due_soon: boolean;
  renewed_without_notice: boolean;
  renewal_confirmed_on: Date | string | null;
  pending_request_id: string | null;
}

const day = z.iso.date();

export const subscriptionSchema = z
  .object({
    billingPlan: z.enum(billingPlans),
    renewsOn: day
      .nullable()
      .describe("The next renewal (quarterly, yearly); null for monthly (invoiced on the 1st)"),
    state: z.enum(subscriptionStates),
    endsOn: day.nullable().describe("A deactivation's last contracted day: the account is disabled on it"),
    dueSoon: z.boolean().describe("The renewal is within the next 4 weeks"),
    renewedWithoutNotice: z
      .boolean()
      .describe("Renewed automatically for one more period without anyone confirming (until confirmed)"),
    renewalConfirmed: z.boolean().describe("The coming renewal was confirmed ahead of time"),
    pendingRequest: z.object({ id: z.uuid(), kind: z.enum(requestKinds) }).nullable(),
  })
  .meta({ id: "Subscription" });
export type Subscription = z.input<typeof subscriptionSchema>;

export function subscriptionView(row: SubscriptionColumns): Subscription {
  const renewsOn = dayFromColumn(row.renews_on);
  const pendingKind: RequestKind | null =
    row.subscription_state === "activation_pending"
      ? "activation"
      : row.subscription_state === "deactivation_pending"
        ? "deactivation"
        : null;
  return {
    billingPlan: row.billing_plan,
    renewsOn,
    state: row.subscription_state,
    endsOn: dayFromColumn(row.subscription_ends_on),
    dueSoon: row.due_soon,
    renewedWithoutNotice: row.renewed_without_notice,
    renewalConfirmed: renewsOn !== null && dayFromColumn(row.renewal_confirmed_on) === renewsOn,
    pendingRequest:
      row.pending_request_id && pendingKind ? { id: row.pending_request_id, kind: pendingKind } : null,
  };
}
