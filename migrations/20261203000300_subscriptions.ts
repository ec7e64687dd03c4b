import type { Knex } from "knex";

/**
 * Subscriptions (issue 16): each account's billing plan and where its contract stands, the
 * activation and deactivation requests with their outcomes, and the renewal reminders sent.
 * The subscription lives on the account row so lists filter and sort on it without a join.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("accounts", (t) => {
    t.text("billing_plan")
      .notNullable()
      .defaultTo("monthly")
      .checkIn(["monthly", "quarterly", "yearly"], "accounts_billing_plan");
    // Quarterly and yearly only: the first day of the next period.
    t.date("renews_on").nullable();
    t.text("subscription_state")
      .notNullable()
      .defaultTo("active")
      .checkIn(
        ["activation_pending", "active", "deactivation_pending", "ended"],
        "accounts_subscription_state",
      );
    // A deactivation's last contracted date: the schedule disables the account on it.
    t.date("subscription_ends_on").nullable();
    // Kept by the schedule (and by every write of renews_on): renews_on within the next 4 weeks.
    t.boolean("due_soon").notNullable().defaultTo(false);
    t.boolean("renewed_without_notice").notNullable().defaultTo(false);
    // The renews_on someone confirmed ahead of time: passing it then raises no flag.
    t.date("renewal_confirmed_on").nullable();
    t.uuid("pending_request_id").nullable();
  });
  await knex.raw(
    "alter table accounts add constraint accounts_renews_on_plan check ((billing_plan = 'monthly') = (renews_on is null))",
  );
  // The group counts (active devices, due for renewal) read this index alone.
  await knex.raw(
    "create index accounts_active_by_group on accounts (group_id, due_soon) where deleted_at is null and status = 'active'",
  );
  await knex.raw(
    "create index accounts_renews_on on accounts (renews_on, id) where deleted_at is null and renews_on is not null",
  );
  // What the schedule looks for: contracts to end, to renew, to remind of.
  await knex.raw(
    "create index accounts_subscription_due on accounts (subscription_state, subscription_ends_on) where deleted_at is null and subscription_state <> 'active'",
  );

  await knex.schema.createTable("subscription_requests", (t) => {
    t.uuid("id").primary();
    t.uuid("account_id").notNullable().references("accounts.id").onDelete("CASCADE");
    t.text("kind").notNullable().checkIn(["activation", "deactivation"], "subscription_requests_kind");
    t.text("status")
      .notNullable()
      .checkIn(["pending", "approved", "rejected", "withdrawn"], "subscription_requests_status");
    // The subscription state to return to when the request is rejected or withdrawn.
    t.text("previous_state").notNullable();
    t.text("note").nullable();
    t.date("ends_on").nullable();
    // Users by id without foreign keys: the history outlives the users; the label keeps who it was.
    t.uuid("requested_by_user_id").nullable();
    t.text("requested_by").notNullable();
    t.timestamp("requested_at", { useTz: true }).notNullable();
    t.uuid("decided_by_user_id").nullable();
    t.text("decided_by").nullable();
    t.timestamp("decided_at", { useTz: true }).nullable();
    t.text("reason").nullable();
    t.index(["account_id", "requested_at"]);
  });
  // One open request per account, even when two portal users press the button at once.
  await knex.raw(
    "create unique index subscription_requests_one_pending on subscription_requests (account_id) where status = 'pending'",
  );

  await knex.schema.createTable("subscription_reminders", (t) => {
    t.uuid("account_id").notNullable().references("accounts.id").onDelete("CASCADE");
    t.date("renews_on").notNullable();
    // 1 to 4: the week of the 4 before renews_on.
    t.smallint("week").notNullable();
    t.timestamp("sent_at", { useTz: true }).notNullable();
    t.integer("recipients").notNullable();
    // The key that makes a reminder once per week whatever the number of processes or restarts.
    t.primary(["account_id", "renews_on", "week"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists("subscription_reminders");
  await knex.schema.dropTableIfExists("subscription_requests");
  await knex.raw("drop index if exists accounts_subscription_due");
  await knex.raw("drop index if exists accounts_renews_on");
  await knex.raw("drop index if exists accounts_active_by_group");
  await knex.raw("alter table accounts drop constraint if exists accounts_renews_on_plan");
  await knex.schema.alterTable("accounts", (t) => {
    for (const column of [
      "billing_plan",
      "renews_on",
      "subscription_state",
      "subscription_ends_on",
      "due_soon",
      "renewed_without_notice",
      "renewal_confirmed_on",
      "pending_request_id",
    ]) {
      t.dropColumn(column);
    }
  });
}
