import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ManualClock } from "../../src/clock.js";
import type { ApiClient } from "../support/api.js";
import type { TestServer } from "../support/server.js";
import {
  createAccount,
  createWorld,
  daysFrom,
  getAccount,
  moveTo,
  type Outcome,
  startAt,
  type World,
} from "./fixture.js";

interface Message {
  channel: string;
  kind: string;
  to: string;
  subject: string | null;
  text: string | null;
}

// One server for the file (a start takes long on a loaded machine); each test makes its own
// organisation and sets the clock to its own days.
let test: TestServer;
let clock: ManualClock;
let op: ApiClient;
beforeAll(async () => {
  const started = await startAt("2027-01-01");
  test = started.test;
  clock = started.clock;
  op = started.op;
}, 180_000);
afterAll(async () => {
  await test?.stop();
});

const reminders = async (op: ApiClient, accountId: string) =>
  (await op.ok<{ items: Message[] }>("GET", `/api/v1/accounts/${accountId}/messages?limit=100`)).items.filter(
    (m) => m.kind === "renewal_reminder",
  );

async function runDays(server: TestServer, clock: ManualClock, days: string[]): Promise<void> {
  for (const day of days) {
    moveTo(clock, day);
    await server.server.subscriptions.schedule.run();
  }
}

describe("renewals and reminders, as the clock moves", () => {
  it("a yearly plan renewing on 29 February: due soon 4 weeks ahead, 4 weekly reminders to the right people, renewed to 28 February and flagged until confirmed", async () => {
    moveTo(clock, "2028-01-20");
    const world: World = await createWorld(test.url, op);
    const account = await createAccount(op, world.groupG, { billingPlan: "yearly", renewsOn: "2028-02-29" });
    expect(account.subscription).toMatchObject({
      billingPlan: "yearly",
      renewsOn: "2028-02-29",
      state: "active",
      dueSoon: false,
    });

    await runDays(test, clock, daysFrom("2028-01-20", "2028-01-31"));
    expect((await getAccount(op, account.id)).subscription.dueSoon).toBe(false);
    expect(await reminders(op, account.id)).toEqual([]);

    // 1 February is 28 days before 29 February: due soon, and the first reminder.
    await runDays(test, clock, ["2028-02-01"]);
    expect((await getAccount(op, account.id)).subscription.dueSoon).toBe(true);
    const first = await reminders(op, account.id);
    const recipients = first.map((m) => m.to).sort();
    // The company admin, the group admin of G and the supervisor of P (above G); not the inactive
    // company admin, not the admin of the sibling group, not another organisation's admin.
    expect(recipients).toEqual(
      [world.users.companyAdmin.email, world.users.groupAdmin.email, world.users.supervisor.email].sort(),
    );
    expect(first[0]?.subject).toContain("2028-02-29");

    // Every day up to the renewal, each day run twice (as after a restart): still one a week.
    for (const day of daysFrom("2028-02-02", "2028-02-28")) {
      await runDays(test, clock, [day, day]);
      expect((await getAccount(op, account.id)).subscription.dueSoon, day).toBe(true);
    }
    const all = await reminders(op, account.id);
    expect(all).toHaveLength(4 * 3);
    for (const email of recipients) expect(all.filter((m) => m.to === email)).toHaveLength(4);
    expect(all.some((m) => m.to === world.users.inactiveAdmin.email)).toBe(false);

    // The date passes without notice: one more year, and 29 February 2029 does not exist.
    await runDays(test, clock, ["2028-02-29"]);
    const renewed = (await getAccount(op, account.id)).subscription;
    expect(renewed).toMatchObject({ renewsOn: "2029-02-28", renewedWithoutNotice: true, dueSoon: false });
    expect((await getAccount(op, account.id)).status).toBe("active");
    // No fifth reminder on or after the day.
    await runDays(test, clock, daysFrom("2028-03-01", "2028-03-10"));
    expect(await reminders(op, account.id)).toHaveLength(12);

    const list = await op.ok<{ items: Array<{ id: string }> }>(
      "GET",
      `/api/v1/accounts?subscription=renewed_without_notice&groupId=${world.groupG}`,
    );
    expect(list.items.map((a) => a.id)).toEqual([account.id]);

    // The group admin confirms: the red caution goes.
    const confirmed = await world.users.groupAdmin.client.ok<{
      subscription: { renewedWithoutNotice: boolean };
    }>("POST", `/api/v1/accounts/${account.id}/renewal/confirm`, undefined, 200);
    expect(confirmed.subscription.renewedWithoutNotice).toBe(false);
    const events = await op.ok<{ items: Array<{ action: string }> }>(
      "GET",
      `/api/v1/accounts/${account.id}/events?pageSize=100`,
    );
    const actions = events.items.map((e) => e.action);
    expect(actions.filter((a) => a === "subscription.renewed")).toHaveLength(1);
    expect(actions).toContain("subscription.renewal_confirmed");
  }, 180_000);

  it("a quarterly plan from 31 January renews on 30 April, then 30 July; confirming ahead renews without the flag", async () => {
    moveTo(clock, "2027-01-10");
    const world = await createWorld(test.url, op);
    const account = await createAccount(op, world.groupG, {
      billingPlan: "quarterly",
      renewsOn: "2027-01-31",
    });
    await runDays(test, clock, ["2027-01-30"]);
    expect((await getAccount(op, account.id)).subscription.renewsOn).toBe("2027-01-31");
    await runDays(test, clock, ["2027-01-31"]);
    expect((await getAccount(op, account.id)).subscription).toMatchObject({
      renewsOn: "2027-04-30",
      renewedWithoutNotice: true,
    });
    // Confirmed ahead of the next date: the next renewal raises no flag.
    await world.users.companyAdmin.client.ok(
      "POST",
      `/api/v1/accounts/${account.id}/renewal/confirm`,
      undefined,
      200,
    );
    const ahead = (await getAccount(op, account.id)).subscription;
    expect(ahead).toMatchObject({ renewedWithoutNotice: false, renewalConfirmed: true });
    await runDays(test, clock, ["2027-04-30"]);
    expect((await getAccount(op, account.id)).subscription).toMatchObject({
      renewsOn: "2027-07-30",
      renewedWithoutNotice: false,
      renewalConfirmed: false,
    });
  }, 180_000);

  it("a confirmed renewal gets no more reminders; a monthly plan gets none and has no date", async () => {
    moveTo(clock, "2027-05-01");
    const world = await createWorld(test.url, op);
    const yearly = await createAccount(op, world.groupG, { billingPlan: "yearly", renewsOn: "2027-05-20" });
    const monthly = await createAccount(op, world.groupG);
    expect(monthly.subscription).toMatchObject({ billingPlan: "monthly", renewsOn: null, dueSoon: false });
    await runDays(test, clock, ["2027-05-01"]);
    expect(await reminders(op, yearly.id)).toHaveLength(3);
    await op.ok("POST", `/api/v1/accounts/${yearly.id}/renewal/confirm`, undefined, 200);
    await runDays(test, clock, daysFrom("2027-05-02", "2027-05-19"));
    expect(await reminders(op, yearly.id)).toHaveLength(3);
    expect(await reminders(op, monthly.id)).toHaveLength(0);
  }, 180_000);
});

describe("deactivations and activations", () => {
  it("a monthly deactivation stays active to the last day of the month, is disabled on it, and can be activated again", async () => {
    moveTo(clock, "2027-03-10");
    const world = await createWorld(test.url, op);
    const account = await createAccount(op, world.groupG);
    const asked = await world.users.groupAdmin.client.ok<Outcome>(
      "POST",
      `/api/v1/accounts/${account.id}/deactivation-request`,
      { note: "the employee leaves" },
    );
    expect(asked.subscription).toMatchObject({
      state: "deactivation_pending",
      endsOn: "2027-03-31",
      pendingRequest: { id: asked.request.id, kind: "deactivation" },
    });
    const pending = await op.ok<{ items: Array<{ id: string }> }>(
      "GET",
      `/api/v1/accounts?subscription=deactivation_pending&groupId=${world.groupG}`,
    );
    expect(pending.items.map((a) => a.id)).toEqual([account.id]);
    await op.ok(
      "POST",
      `/api/v1/accounts/${account.id}/requests/${asked.request.id}/approve`,
      undefined,
      200,
    );

    await runDays(test, clock, daysFrom("2027-03-10", "2027-03-30"));
    const stillOn = await getAccount(op, account.id);
    expect(stillOn.status).toBe("active");
    expect(stillOn.subscription.state).toBe("deactivation_pending");

    await runDays(test, clock, ["2027-03-31"]);
    const ended = await getAccount(op, account.id);
    expect(ended.status).toBe("disabled");
    expect(ended.disabledReason).toBe("subscription ended");
    expect(ended.subscription.state).toBe("ended");
    // The registrar's lookup sees it as every disable: not usable.
    const subscriber = await test.server.accounts.findSipSubscriber(
      (await op.ok<{ username: string }>("GET", `/api/v1/accounts/${account.id}`)).username,
      (await op.ok<{ sipDomain: string }>("GET", `/api/v1/accounts/${account.id}`)).sipDomain,
    );
    expect(subscriber?.status).toBe("disabled");

    // Activated again: the company admin asks, the operator approves, the account works again.
    const again = await world.users.companyAdmin.client.ok<Outcome>(
      "POST",
      `/api/v1/accounts/${account.id}/activation-request`,
    );
    expect(again.subscription.state).toBe("activation_pending");
    const approved = await op.ok<Outcome>(
      "POST",
      `/api/v1/accounts/${account.id}/requests/${again.request.id}/approve`,
      undefined,
      200,
    );
    expect(approved.subscription.state).toBe("active");
    expect((await getAccount(op, account.id)).status).toBe("active");

    const history = await world.users.supervisor.client.ok<{ items: Outcome["request"][] }>(
      "GET",
      `/api/v1/accounts/${account.id}/requests`,
    );
    expect(history.items.map((r) => [r.kind, r.status])).toEqual([
      ["activation", "approved"],
      ["deactivation", "approved"],
    ]);
  }, 180_000);

  it("a yearly deactivation still pending on the renewal day ends the contract that day and does not renew", async () => {
    moveTo(clock, "2027-06-01");
    const world = await createWorld(test.url, op);
    const account = await createAccount(op, world.groupG, { billingPlan: "yearly", renewsOn: "2027-06-15" });
    const asked = await world.users.companyAdmin.client.ok<Outcome>(
      "POST",
      `/api/v1/accounts/${account.id}/deactivation-request`,
    );
    expect(asked.subscription.endsOn).toBe("2027-06-15");
    expect(asked.subscription.dueSoon).toBe(false);
    await runDays(test, clock, daysFrom("2027-06-01", "2027-06-14"));
    expect((await getAccount(op, account.id)).status).toBe("active");
    await runDays(test, clock, ["2027-06-15"]);
    const ended = await getAccount(op, account.id);
    expect(ended.status).toBe("disabled");
    expect(ended.subscription).toMatchObject({
      state: "ended",
      renewsOn: "2027-06-15",
      renewedWithoutNotice: false,
    });
    const history = await op.ok<{ items: Outcome["request"][] }>(
      "GET",
      `/api/v1/accounts/${account.id}/requests`,
    );
    expect(history.items[0]).toMatchObject({
      status: "approved",
      decidedBy: "provisiond (subscription schedule)",
    });
  }, 180_000);

  it("a rejected deactivation returns to active and renews; a withdrawn activation returns to where it was", async () => {
    moveTo(clock, "2027-06-01");
    const world = await createWorld(test.url, op);
    const account = await createAccount(op, world.groupG, { billingPlan: "yearly", renewsOn: "2027-06-15" });
    const asked = await world.users.groupAdmin.client.ok<Outcome>(
      "POST",
      `/api/v1/accounts/${account.id}/deactivation-request`,
    );
    const rejected = await op.ok<Outcome>(
      "POST",
      `/api/v1/accounts/${account.id}/requests/${asked.request.id}/reject`,
      { reason: "the contract has a minimum of two years" },
      200,
    );
    expect(rejected.request).toMatchObject({
      status: "rejected",
      reason: "the contract has a minimum of two years",
    });
    expect(rejected.subscription).toMatchObject({ state: "active", endsOn: null, pendingRequest: null });
    await runDays(test, clock, ["2027-06-15"]);
    expect((await getAccount(op, account.id)).subscription).toMatchObject({
      renewsOn: "2028-06-15",
      renewedWithoutNotice: true,
    });

    await op.ok("POST", `/api/v1/accounts/${account.id}/disable`, { reason: "lost phone" }, 200);
    const activation = await world.users.groupAdmin.client.ok<Outcome>(
      "POST",
      `/api/v1/accounts/${account.id}/activation-request`,
    );
    const withdrawn = await world.users.groupAdmin.client.ok<Outcome>(
      "POST",
      `/api/v1/accounts/${account.id}/requests/${activation.request.id}/withdraw`,
      undefined,
      200,
    );
    expect(withdrawn.subscription.state).toBe("active");
    expect((await getAccount(op, account.id)).status).toBe("disabled");
  }, 180_000);

  it("approving a wizard account's activation keeps it waiting for its app and sends the activation SMS", async () => {
    moveTo(clock, "2027-06-01");
    const world = await createWorld(test.url, op);
    const account = await createAccount(op, world.groupG, { mode: "wizard", phoneNumber: "+41791234567" });
    expect(account.status).toBe("pending_activation");
    const asked = await world.users.groupAdmin.client.ok<Outcome>(
      "POST",
      `/api/v1/accounts/${account.id}/activation-request`,
    );
    await op.ok(
      "POST",
      `/api/v1/accounts/${account.id}/requests/${asked.request.id}/approve`,
      undefined,
      200,
    );
    expect((await getAccount(op, account.id)).status).toBe("pending_activation");
    const messages = await op.ok<{ items: Message[] }>("GET", `/api/v1/accounts/${account.id}/messages`);
    expect(messages.items.map((m) => [m.kind, m.to])).toEqual([["activation_sms", "+41791234567"]]);
  }, 180_000);
});
