/**
 * Calendar arithmetic of contracts, on days written YYYY-MM-DD (UTC). A period adds calendar
 * months and, when the day does not exist in the target month, takes that month's last day:
 * 31 Jan + 1 quarter = 30 Apr, 29 Feb 2028 + 1 year = 28 Feb 2029. Each renewal adds to the date
 * it renews, so a clamped day stays clamped (30 Apr, then 30 Jul): the customer sees one date move
 * by exactly one period each time, never back to a day the previous period did not have.
 */
export const billingPlans = ["monthly", "quarterly", "yearly"] as const;
export type BillingPlan = (typeof billingPlans)[number];

/** How far ahead of renews_on a subscription counts as due soon, and the reminders start. */
export const dueSoonDays = 28;
export const reminderWeeks = 4;

const monthsOf: Record<Exclude<BillingPlan, "monthly">, number> = { quarterly: 3, yearly: 12 };

function parts(day: string): [number, number, number] {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!match) throw new Error(`not a day: ${day}`);
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

const format = (date: Date): string => date.toISOString().slice(0, 10);

/** The UTC day of an instant. */
export const dayOf = (instant: Date): string => format(instant);

/**
 * A DATE column as the driver hands it over: node-postgres makes local midnight, PGlite UTC
 * midnight. An instant at UTC midnight is read as UTC, any other as local time.
 */
export function dayFromColumn(value: Date | string | null): string | null {
  if (value === null) return null;
  if (typeof value === "string") return value.slice(0, 10);
  if (value.getUTCHours() === 0 && value.getUTCMinutes() === 0 && value.getUTCSeconds() === 0) {
    return format(value);
  }
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${value.getFullYear()}-${pad(value.getMonth() + 1)}-${pad(value.getDate())}`;
}

export function addDays(day: string, days: number): string {
  const [y, m, d] = parts(day);
  return format(new Date(Date.UTC(y, m - 1, d + days)));
}

export function addMonths(day: string, months: number): string {
  const [y, m, d] = parts(day);
  const firstOfTarget = new Date(Date.UTC(y, m - 1 + months, 1));
  const lastDay = new Date(
    Date.UTC(firstOfTarget.getUTCFullYear(), firstOfTarget.getUTCMonth() + 1, 0),
  ).getUTCDate();
  return format(
    new Date(Date.UTC(firstOfTarget.getUTCFullYear(), firstOfTarget.getUTCMonth(), Math.min(d, lastDay))),
  );
}

/** The next renewal date after `day` for a plan with one (quarterly, yearly). */
export function addPeriod(day: string, plan: Exclude<BillingPlan, "monthly">): string {
  return addMonths(day, monthsOf[plan]);
}

export function lastDayOfMonth(day: string): string {
  const [y, m] = parts(day);
  return format(new Date(Date.UTC(y, m, 0)));
}

/** Whole days from `from` to `to` (negative when `to` is earlier). */
export function daysBetween(from: string, to: string): number {
  const [fy, fm, fd] = parts(from);
  const [ty, tm, td] = parts(to);
  return Math.round((Date.UTC(ty, tm - 1, td) - Date.UTC(fy, fm - 1, fd)) / 86_400_000);
}

/** Renewal within the next 4 weeks (today included, the renewal day included). */
export function isDueSoon(renewsOn: string | null, today: string): boolean {
  if (renewsOn === null) return false;
  const left = daysBetween(today, renewsOn);
  return left >= 0 && left <= dueSoonDays;
}

/** Which of the 4 reminder weeks `today` is in (1 = four weeks before), or null outside them. */
export function reminderWeek(renewsOn: string, today: string): number | null {
  const left = daysBetween(today, renewsOn);
  if (left <= 0 || left > dueSoonDays) return null;
  return Math.min(reminderWeeks, Math.floor((dueSoonDays - left) / 7) + 1);
}

/** The last contracted day of a deactivation asked for today: the renewal date, or the month's end. */
export function lastContractedDay(plan: BillingPlan, renewsOn: string | null, today: string): string {
  if (plan === "monthly" || renewsOn === null) return lastDayOfMonth(today);
  return renewsOn;
}

/** The renews_on a plan starts with today (null for monthly: invoiced on the 1st, no date). */
export function firstRenewal(plan: BillingPlan, today: string): string | null {
  return plan === "monthly" ? null : addPeriod(today, plan);
}
