import type { Knex } from "knex";
import type { AccountRow } from "../accounts/store.js";
import type { RequestKind, SubscriptionState } from "./account-subscription.js";

export interface SubscriptionRequestRow {
  id: string;
  account_id: string;
  kind: RequestKind;
  status: "pending" | "approved" | "rejected" | "withdrawn";
  previous_state: SubscriptionState;
  note: string | null;
  ends_on: Date | string | null;
  requested_by_user_id: string | null;
  requested_by: string;
  requested_at: Date;
  decided_by_user_id: string | null;
  decided_by: string | null;
  decided_at: Date | null;
  reason: string | null;
}

export interface ReminderRecipient {
  id: string;
  email: string;
  name: string;
  role: string;
}

/** A contract the schedule looks at, with the organisation it belongs to. */
export interface ScheduledAccount {
  id: string;
  group_id: string;
  organisation_id: string;
  organisation_name: string;
  username: string;
  display_name: string | null;
  billing_plan: AccountRow["billing_plan"];
  renews_on: string | null;
  subscription_ends_on: string | null;
  renewal_confirmed_on: string | null;
}

const batchSize = 500;

/** Subscription SQL: requests, the account's subscription columns, reminders, their recipients. */
export const subscriptionsStore = {
  async insertRequest(
    db: Knex,
    row: Omit<SubscriptionRequestRow, "decided_by_user_id" | "decided_by" | "decided_at" | "reason">,
  ): Promise<SubscriptionRequestRow> {
    const [inserted] = await db("subscription_requests")
      .insert({ ...row, decided_by_user_id: null, decided_by: null, decided_at: null, reason: null })
      .returning("*");
    return inserted as SubscriptionRequestRow;
  },

  async findRequest(
    db: Knex,
    accountId: string,
    id: string,
    forUpdate = false,
  ): Promise<SubscriptionRequestRow | undefined> {
    const q = db<SubscriptionRequestRow>("subscription_requests").where({ id, account_id: accountId });
    return (forUpdate ? q.forUpdate() : q).first();
  },

  async pendingRequestOf(db: Knex, accountId: string): Promise<SubscriptionRequestRow | undefined> {
    return db<SubscriptionRequestRow>("subscription_requests")
      .where({ account_id: accountId, status: "pending" })
      .forUpdate()
      .first();
  },

  async decideRequest(
    db: Knex,
    id: string,
    decision: Pick<
      SubscriptionRequestRow,
      "status" | "decided_by_user_id" | "decided_by" | "decided_at" | "reason"
    >,
  ): Promise<SubscriptionRequestRow> {
    const [row] = await db("subscription_requests")
      .where({ id, status: "pending" })
      .update(decision)
      .returning("*");
    return row as SubscriptionRequestRow;
  },

  /** An account's requests, newest first: the portal's "former activation / deactivation requests". */
  async requestsOf(db: Knex, accountId: string, limit: number): Promise<SubscriptionRequestRow[]> {
    return db<SubscriptionRequestRow>("subscription_requests")
      .where({ account_id: accountId })
      .orderBy([
        { column: "requested_at", order: "desc" },
        { column: "id", order: "desc" },
      ])
      .limit(limit);
  },

  /** Changes the subscription columns of a live account, only while it is still in `expected` (null: any). */
  async updateSubscription(
    db: Knex,
    accountId: string,
    expected: Partial<Record<"subscription_state" | "renews_on", string>> | null,
    changes: Partial<Record<keyof AccountRow, unknown>>,
    now: Date,
  ): Promise<AccountRow | undefined> {
    const q = db("accounts").where({ id: accountId }).whereNull("deleted_at");
    if (expected) q.where(expected);
    const [row] = await q.update({ ...changes, updated_at: now }).returning("*");
    return row as AccountRow | undefined;
  },

  async organisationOfGroup(db: Knex, groupId: string): Promise<string | null> {
    const row = (await db("groups").where({ id: groupId }).first("organisation_id")) as
      | { organisation_id: string }
      | undefined;
    return row?.organisation_id ?? null;
  },

  // What the schedule works through, each a batch at a time.

  scheduled(db: Knex): Knex.QueryBuilder {
    return db("accounts as a")
      .join("groups as g", "g.id", "a.group_id")
      .join("organisations as o", "o.id", "g.organisation_id")
      .whereNull("a.deleted_at")
      .select(
        "a.id",
        "a.group_id",
        "g.organisation_id",
        "o.name as organisation_name",
        "a.username",
        "a.display_name",
        "a.billing_plan",
        db.raw("a.renews_on::text as renews_on"),
        db.raw("a.subscription_ends_on::text as subscription_ends_on"),
        db.raw("a.renewal_confirmed_on::text as renewal_confirmed_on"),
      )
      .orderBy("a.id")
      .limit(batchSize);
  },

  /** Deactivations whose last contracted day has come. */
  async dueToEnd(db: Knex, today: string, after: string): Promise<ScheduledAccount[]> {
    return subscriptionsStore
      .scheduled(db)
      .where("a.subscription_state", "deactivation_pending")
      .where("a.subscription_ends_on", "<=", today)
      .where("a.id", ">", after);
  },

  /** Quarterly and yearly contracts whose renewal day has come without notice to end them. */
  async dueToRenew(db: Knex, today: string, after: string): Promise<ScheduledAccount[]> {
    return subscriptionsStore
      .scheduled(db)
      .where("a.subscription_state", "active")
      .whereNot("a.billing_plan", "monthly")
      .where("a.renews_on", "<=", today)
      .where("a.id", ">", after);
  },

  /** Sets due_soon where it changed: renews_on between today and 4 weeks ahead, for running contracts. */
  async refreshDueSoon(db: Knex, today: string, lastDueDay: string): Promise<number> {
    const dueSoon = db.raw(
      "(subscription_state = 'active' and renews_on is not null and renews_on >= ?::date and renews_on <= ?::date)",
      [today, lastDueDay],
    );
    return db("accounts")
      .whereNull("deleted_at")
      .where((w) =>
        w
          .where("due_soon", true)
          .orWhere((inWindow) => inWindow.whereBetween("renews_on", [today, lastDueDay])),
      )
      .whereRaw("due_soon is distinct from ?", [dueSoon])
      .update({ due_soon: dueSoon });
  },

  /** Due-soon contracts nobody confirmed yet: those the reminders are for. */
  async toRemind(db: Knex, after: string): Promise<ScheduledAccount[]> {
    return subscriptionsStore
      .scheduled(db)
      .where("a.due_soon", true)
      .where("a.subscription_state", "active")
      .whereRaw("a.renewal_confirmed_on is distinct from a.renews_on")
      .where("a.id", ">", after);
  },

  /** Claims a week's reminder: false when it was already sent (by this process or another). */
  async claimReminder(
    db: Knex,
    row: { account_id: string; renews_on: string; week: number; sent_at: Date; recipients: number },
  ): Promise<boolean> {
    const inserted = (await db("subscription_reminders")
      .insert(row)
      .onConflict(["account_id", "renews_on", "week"])
      .ignore()
      .returning("week")) as unknown[];
    return inserted.length > 0;
  },

  async remindersOf(
    db: Knex,
    accountId: string,
  ): Promise<Array<{ renews_on: string; week: number; recipients: number }>> {
    return db("subscription_reminders")
      .where({ account_id: accountId })
      .select(db.raw("renews_on::text as renews_on"), "week", "recipients")
      .orderBy([{ column: "renews_on" }, { column: "week" }]);
  },

  /**
   * Who a renewal reminder of an account goes to: the active company admins of its organisation
   * and the active group admins and supervisors assigned (group_members) to its group or to one
   * above it.
   */
  async reminderRecipients(db: Knex, accountId: string): Promise<ReminderRecipient[]> {
    const result = await db.raw(
      `with recursive account as (
         select a.group_id, g.organisation_id from accounts a join groups g on g.id = a.group_id where a.id = ?
       ),
       above (id, parent_id) as (
         select g.id, g.parent_id from groups g join account on g.id = account.group_id
         union all
         select g.id, g.parent_id from groups g join above on g.id = above.parent_id
       )
       select distinct u.id, u.email, u.name, u.role
         from users u, account
        where u.active
          and ((u.role = 'company_admin' and u.organisation_id = account.organisation_id)
               or (u.role in ('group_admin', 'group_supervisor')
                   and exists (select 1 from group_members gm
                                where gm.user_id = u.id and gm.group_id in (select id from above))))
        order by u.email`,
      [accountId],
    );
    return (result.rows ?? result) as ReminderRecipient[];
  },
};
