import type { FieldError } from "../errors.js";
import { type BillingPlan, daysBetween, firstRenewal, isDueSoon } from "./periods.js";

/** What an operator sends about the plan at create, import or PATCH. */
export interface PlanInput {
  billingPlan?: BillingPlan | undefined;
  renewsOn?: string | null | undefined;
}

export interface PlanColumns {
  billing_plan: BillingPlan;
  renews_on: string | null;
  due_soon: boolean;
}

/**
 * The plan columns an account gets: the plan sent, else the one it has, else the default (its
 * profile's); a quarterly or yearly plan without a date renews one period from today; a monthly
 * plan has no date. A date must lie ahead: a passed one would renew at the next run of the schedule.
 */
export function choosePlan(
  current: { billing_plan: BillingPlan; renews_on: string | null } | null,
  input: PlanInput,
  defaultPlan: BillingPlan,
  today: string,
  path: string,
): PlanColumns | FieldError[] {
  const plan = input.billingPlan ?? current?.billing_plan ?? defaultPlan;
  if (plan === "monthly") {
    if (input.renewsOn) {
      return [
        { path: `${path}.renewsOn`, message: "a monthly plan has no renewal date (invoiced on the 1st)" },
      ];
    }
    return { billing_plan: plan, renews_on: null, due_soon: false };
  }
  let renewsOn: string | null;
  if (input.renewsOn !== undefined && input.renewsOn !== null) renewsOn = input.renewsOn;
  else if (input.renewsOn === null) {
    return [{ path: `${path}.renewsOn`, message: `a ${plan} plan needs its renewal date` }];
  } else if (current && current.billing_plan === plan) renewsOn = current.renews_on;
  else renewsOn = null;
  if (renewsOn === null) renewsOn = firstRenewal(plan, today);
  if (renewsOn === null) throw new Error("a quarterly or yearly plan has a first renewal");
  if (input.renewsOn && daysBetween(today, renewsOn) <= 0) {
    return [{ path: `${path}.renewsOn`, message: "must be after today" }];
  }
  return { billing_plan: plan, renews_on: renewsOn, due_soon: isDueSoon(renewsOn, today) };
}
