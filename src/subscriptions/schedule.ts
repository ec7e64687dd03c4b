import type { Actor } from "../audit/actor.js";
import { systemActor } from "../audit/actor.js";
import type { AuditService } from "../audit/service.js";
import type { Clock } from "../clock.js";
import type { Database } from "../db/database.js";
import { ConflictError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { OutboxWriter } from "../messaging/outbox.js";
import { subscriptionView } from "./account-subscription.js";
import { addDays, addPeriod, dayOf, dueSoonDays, isDueSoon, reminderWeek } from "./periods.js";
import type { AccountsForSubscriptions } from "./requests.js";
import { type ScheduledAccount, subscriptionsStore as store } from "./store.js";

/** The reason an ended contract's account is disabled with. */
export const subscriptionEndedReason = "subscription ended";

const label = "provisiond (subscription schedule)";

/**
 * The schedule acts as an operator (it ends contracts in every organisation) under its own name
 * in the audit trail; no user or token stands behind it.
 */
const scheduleActor: Actor = {
  principal: {
    userId: "00000000-0000-0000-0000-000000000000",
    tokenId: "00000000-0000-0000-0000-000000000000",
    email: label,
    name: label,
    role: "operator",
    organisationId: null,
    groupId: null,
    groupIds: [],
    scope: { kind: "all" },
  },
  requestId: null,
};

export interface ScheduleRun {
  ended: number;
  renewed: number;
  reminders: number;
}

/**
 * One run of the subscription schedule for the clock's day: end the contracts whose last day
 * came, renew those whose date passed, keep the due-soon flags, send this week's reminders. Every
 * step compares dates with today and changes a row only from the state it read, so a run is
 * idempotent: two processes at once, or a run repeated after a restart, change nothing twice, and
 * a run after days of downtime catches up on everything it missed.
 */
export class SubscriptionSchedule {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    private readonly accounts: AccountsForSubscriptions,
    private readonly outbox: OutboxWriter,
    private readonly logger: Logger,
  ) {}

  async run(): Promise<ScheduleRun> {
    const today = dayOf(this.clock.now());
    const ended = await this.each(
      (after) => store.dueToEnd(this.db.knex, today, after),
      (row) => this.end(row),
    );
    const renewed = await this.each(
      (after) => store.dueToRenew(this.db.knex, today, after),
      (row) => this.renew(row, today),
    );
    await store.refreshDueSoon(this.db.knex, today, addDays(today, dueSoonDays));
    const reminders = await this.each(
      (after) => store.toRemind(this.db.knex, after),
      (row) => this.remind(row, today),
    );
    const run = { ended, renewed, reminders };
    if (ended + renewed + reminders > 0) this.logger.info({ today, ...run }, "subscription schedule ran");
    return run;
  }

  private async each(
    batch: (after: string) => Promise<ScheduledAccount[]>,
    act: (row: ScheduledAccount) => Promise<boolean>,
  ): Promise<number> {
    let done = 0;
    let after = "00000000-0000-0000-0000-000000000000";
    for (;;) {
      const rows = await batch(after);
      for (const row of rows) {
        try {
          if (await act(row)) done += 1;
        } catch (error) {
          // One account's trouble must not stop the others; the next run tries it again.
          this.logger.error({ err: error, accountId: row.id }, "subscription schedule step failed");
        }
      }
      const last = rows.at(-1);
      if (!last || rows.length < 500) return done;
      after = last.id;
    }
  }

  /** The last contracted day came: disable through accounts (SIP and licensing hear of it), then end. */
  private async end(row: ScheduledAccount): Promise<boolean> {
    try {
      await this.accounts.disable(scheduleActor, row.id, subscriptionEndedReason);
    } catch (error) {
      // Disabled already (by an operator, or by this step before a crash): the contract still ends.
      if (!(error instanceof ConflictError)) throw error;
    }
    return this.db.knex.transaction(async (trx) => {
      const now = this.clock.now();
      const pending = await store.pendingRequestOf(trx, row.id);
      const after = await store.updateSubscription(
        trx,
        row.id,
        { subscription_state: "deactivation_pending" },
        {
          subscription_state: "ended",
          pending_request_id: null,
          due_soon: false,
          renewed_without_notice: false,
        },
        now,
      );
      if (!after) return false;
      if (pending) {
        // The notice came in time; the contract ends on its day whether or not an operator got to it.
        await store.decideRequest(trx, pending.id, {
          status: "approved",
          decided_by_user_id: null,
          decided_by: label,
          decided_at: now,
          reason: null,
        });
      }
      await this.audit.record(trx, systemActor(label), {
        action: "subscription.ended",
        targetType: "account",
        targetId: row.id,
        organisationId: row.organisation_id,
        groupId: row.group_id,
        after: { subscription: subscriptionView(after), endsOn: row.subscription_ends_on },
      });
      return true;
    });
  }

  /** The renewal day passed without notice: one more period (more after a long downtime), flagged unless confirmed. */
  private async renew(row: ScheduledAccount, today: string): Promise<boolean> {
    if (row.billing_plan === "monthly" || row.renews_on === null) return false;
    const plan = row.billing_plan;
    const passed = row.renews_on;
    let next = addPeriod(passed, plan);
    while (next <= today) next = addPeriod(next, plan);
    return this.db.knex.transaction(async (trx) => {
      const confirmed = row.renewal_confirmed_on === passed;
      const after = await store.updateSubscription(
        trx,
        row.id,
        { subscription_state: "active", renews_on: passed },
        {
          renews_on: next,
          renewal_confirmed_on: null,
          due_soon: isDueSoon(next, today),
          ...(confirmed ? {} : { renewed_without_notice: true }),
        },
        this.clock.now(),
      );
      if (!after) return false;
      await this.audit.record(trx, systemActor(label), {
        action: "subscription.renewed",
        targetType: "account",
        targetId: row.id,
        organisationId: row.organisation_id,
        groupId: row.group_id,
        before: { renewsOn: passed },
        after: { subscription: subscriptionView(after), confirmedAhead: confirmed },
      });
      return true;
    });
  }

  /** This week's reminder, once: the claim's unique key decides between processes and restarts. */
  private async remind(row: ScheduledAccount, today: string): Promise<boolean> {
    if (row.renews_on === null) return false;
    const week = reminderWeek(row.renews_on, today);
    if (week === null) return false;
    const renewsOn = row.renews_on;
    return this.db.knex.transaction(async (trx) => {
      const recipients = await store.reminderRecipients(trx, row.id);
      const claimed = await store.claimReminder(trx, {
        account_id: row.id,
        renews_on: renewsOn,
        week,
        sent_at: this.clock.now(),
        recipients: recipients.length,
      });
      if (!claimed) return false;
      for (const recipient of recipients) {
        await this.outbox.enqueue(trx, {
          channel: "email",
          kind: "renewal_reminder",
          recipient: recipient.email,
          organisationId: row.organisation_id,
          accountId: row.id,
          variables: {
            organisation: row.organisation_name,
            recipient: recipient.name,
            account: row.display_name ? `${row.display_name} (${row.username})` : row.username,
            plan: row.billing_plan,
            renewsOn,
            week: String(week),
          },
        });
      }
      return true;
    });
  }
}
