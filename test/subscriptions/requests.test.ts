import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ManualClock } from "../../src/clock.js";
import type { ApiClient } from "../support/api.js";
import type { TestServer } from "../support/server.js";
import {
  type Account,
  createAccount,
  createWorld,
  getAccount,
  moveTo,
  type Outcome,
  type Problem,
  startAt,
  type World,
} from "./fixture.js";

let test: TestServer;
let clock: ManualClock;
let op: ApiClient;
let world: World;
beforeAll(async () => {
  const started = await startAt("2027-09-01");
  test = started.test;
  clock = started.clock;
  op = started.op;
  world = await createWorld(test.url, op);
}, 180_000);
afterAll(async () => {
  await test?.stop();
});

const problem = (result: { json: unknown }) => result.json as Problem;

describe("who may ask, decide and withdraw", () => {
  it("a supervisor asks nothing; a group admin only in its groups; another organisation sees no account", async () => {
    const account = await createAccount(op, world.groupG);
    const path = `/api/v1/accounts/${account.id}/deactivation-request`;
    expect((await world.users.supervisor.client.call("POST", path)).status).toBe(403);
    expect((await world.users.siblingAdmin.client.call("POST", path)).status).toBe(404);
    expect((await world.users.otherCompanyAdmin.client.call("POST", path)).status).toBe(404);
    expect(
      (await world.users.otherCompanyAdmin.client.call("GET", `/api/v1/accounts/${account.id}/requests`))
        .status,
    ).toBe(404);
    // Nothing changed.
    expect((await getAccount(op, account.id)).subscription.state).toBe("active");
    const asked = await world.users.groupAdmin.client.ok<Outcome>("POST", path);
    expect(asked.request.status).toBe("pending");
  }, 120_000);

  it("only operators approve or reject; only the requester or an operator withdraws", async () => {
    const account = await createAccount(op, world.groupG);
    const asked = await world.users.groupAdmin.client.ok<Outcome>(
      "POST",
      `/api/v1/accounts/${account.id}/deactivation-request`,
    );
    const base = `/api/v1/accounts/${account.id}/requests/${asked.request.id}`;
    expect((await world.users.companyAdmin.client.call("POST", `${base}/approve`)).status).toBe(403);
    expect(
      (await world.users.groupAdmin.client.call("POST", `${base}/reject`, { reason: "no" })).status,
    ).toBe(403);
    expect((await world.users.companyAdmin.client.call("POST", `${base}/withdraw`)).status).toBe(403);
    expect((await world.users.supervisor.client.call("POST", `${base}/withdraw`)).status).toBe(403);
    const withdrawn = await world.users.groupAdmin.client.ok<Outcome>(
      "POST",
      `${base}/withdraw`,
      undefined,
      200,
    );
    expect(withdrawn.request.status).toBe("withdrawn");
    expect(withdrawn.subscription.state).toBe("active");
  }, 120_000);

  it("answers 409 in the wrong state, and changes nothing", async () => {
    const account = await createAccount(op, world.groupG);
    // Active: nothing to activate.
    const activate = await world.users.companyAdmin.client.call(
      "POST",
      `/api/v1/accounts/${account.id}/activation-request`,
    );
    expect(activate.status).toBe(409);
    const asked = await world.users.companyAdmin.client.ok<Outcome>(
      "POST",
      `/api/v1/accounts/${account.id}/deactivation-request`,
    );
    // One pending request at a time.
    const again = await world.users.groupAdmin.client.call(
      "POST",
      `/api/v1/accounts/${account.id}/deactivation-request`,
    );
    expect(again.status).toBe(409);
    const base = `/api/v1/accounts/${account.id}/requests/${asked.request.id}`;
    await op.ok("POST", `${base}/approve`, undefined, 200);
    expect((await op.call("POST", `${base}/approve`)).status).toBe(409);
    expect((await op.call("POST", `${base}/reject`, { reason: "too late" })).status).toBe(409);
    expect((await world.users.companyAdmin.client.call("POST", `${base}/withdraw`)).status).toBe(409);
    // A monthly plan has no renewal to confirm; a leaving one neither.
    expect((await op.call("POST", `/api/v1/accounts/${account.id}/renewal/confirm`)).status).toBe(409);
    const history = await op.ok<{ items: Outcome["request"][] }>(
      "GET",
      `/api/v1/accounts/${account.id}/requests`,
    );
    expect(history.items.map((r) => r.status)).toEqual(["approved"]);
    // Another account's request is not this one's.
    const other = await createAccount(op, world.groupG);
    expect(
      (await op.call("POST", `/api/v1/accounts/${other.id}/requests/${asked.request.id}/approve`)).status,
    ).toBe(404);
  }, 120_000);

  it("refuses bad input with the field named", async () => {
    const account = await createAccount(op, world.groupG);
    const asked = await op.ok<Outcome>("POST", `/api/v1/accounts/${account.id}/deactivation-request`);
    const reject = await op.call(
      "POST",
      `/api/v1/accounts/${account.id}/requests/${asked.request.id}/reject`,
      {},
    );
    expect(reject.status).toBe(400);
    expect(problem(reject).errors?.map((e) => e.path)).toContain("body.reason");
    const unknown = await op.call("POST", `/api/v1/accounts/${account.id}/deactivation-request`, {
      notice: "x",
    });
    expect(unknown.status).toBe(400);
    const badId = await op.call("POST", `/api/v1/accounts/${account.id}/requests/not-a-uuid/approve`);
    expect(badId.status).toBe(400);
    expect(problem(badId).errors?.map((e) => e.path)).toContain("params.requestId");
    expect((await getAccount(op, account.id)).subscription.pendingRequest?.id).toBe(asked.request.id);
  }, 120_000);
});

describe("billing plans at create, import and PATCH", () => {
  it("operators set the plan; others are refused; dates are checked", async () => {
    const yearly = await createAccount(op, world.groupG, { billingPlan: "yearly" });
    // Without a date: one period from today.
    expect(yearly.subscription.renewsOn).toBe("2028-09-01");
    const byAdmin = await world.users.companyAdmin.client.call("POST", "/api/v1/accounts", {
      groupId: world.groupG,
      type: "PGSM",
      billingPlan: "yearly",
    });
    expect(byAdmin.status).toBe(403);
    const patchByAdmin = await world.users.companyAdmin.client.call(
      "PATCH",
      `/api/v1/accounts/${yearly.id}`,
      {
        billingPlan: "monthly",
      },
    );
    expect(patchByAdmin.status).toBe(403);
    const monthlyWithDate = await op.call("POST", "/api/v1/accounts", {
      groupId: world.groupG,
      type: "PGSM",
      billingPlan: "monthly",
      renewsOn: "2028-01-01",
    });
    expect(monthlyWithDate.status).toBe(400);
    expect(problem(monthlyWithDate).errors?.map((e) => e.path)).toEqual(["body.renewsOn"]);
    const past = await op.call("PATCH", `/api/v1/accounts/${yearly.id}`, { renewsOn: "2027-08-31" });
    expect(past.status).toBe(400);
    expect(problem(past).errors?.map((e) => e.path)).toEqual(["body.renewsOn"]);
    const notADay = await op.call("PATCH", `/api/v1/accounts/${yearly.id}`, { renewsOn: "31.12.2027" });
    expect(notADay.status).toBe(400);
    const badPlan = await op.call("PATCH", `/api/v1/accounts/${yearly.id}`, { billingPlan: "weekly" });
    expect(badPlan.status).toBe(400);
    expect((await getAccount(op, yearly.id)).subscription).toMatchObject({
      billingPlan: "yearly",
      renewsOn: "2028-09-01",
    });

    const toMonthly = await op.ok<Account>(
      "PATCH",
      `/api/v1/accounts/${yearly.id}`,
      { billingPlan: "monthly" },
      200,
    );
    expect(toMonthly.subscription).toMatchObject({ billingPlan: "monthly", renewsOn: null });
    const toQuarterly = await op.ok<Account>(
      "PATCH",
      `/api/v1/accounts/${yearly.id}`,
      { billingPlan: "quarterly", renewsOn: "2027-09-20" },
      200,
    );
    expect(toQuarterly.subscription).toMatchObject({
      billingPlan: "quarterly",
      renewsOn: "2027-09-20",
      dueSoon: true,
    });
  }, 120_000);

  it("defaults from the profile; the import takes billingPlan and renewsOn columns", async () => {
    const profile = await op.ok<{ id: string }>("POST", "/api/v1/profiles", {
      organisationId: world.orgA,
      name: `Yearly ${process.pid}-${Date.now()}`,
      sipDomain: (await op.ok<{ sipDomain: string }>("GET", `/api/v1/profiles/${world.profileA}`)).sipDomain,
      serverHost: "sip.example.net",
      billingPlan: "yearly",
    });
    const byDefault = await createAccount(op, world.groupG, { profileId: profile.id });
    expect(byDefault.subscription).toMatchObject({ billingPlan: "yearly", renewsOn: "2028-09-01" });
    const csv = `groupId,type,billingPlan,renewsOn\n${world.groupG},PGSM,quarterly,2027-12-31\n${world.groupG},PGSM,,\n`;
    const imported = await op.call("POST", "/api/v1/accounts/import", csv, "text/csv");
    expect(imported.status, imported.text).toBe(201);
    const ids = (imported.json as { accounts: Array<{ id: string }> }).accounts.map((a) => a.id);
    expect((await getAccount(op, ids[0] as string)).subscription).toMatchObject({
      billingPlan: "quarterly",
      renewsOn: "2027-12-31",
    });
    expect((await getAccount(op, ids[1] as string)).subscription.billingPlan).toBe("monthly");
  }, 120_000);
});

describe("lists and group counts", () => {
  it("filters accounts by subscription and plan, sorts by renewsOn, exports the columns; groups count active and due devices", async () => {
    moveTo(clock, "2027-10-01");
    const fresh = await createWorld(test.url, op);
    const soon = await createAccount(op, fresh.groupG, { billingPlan: "yearly", renewsOn: "2027-10-20" });
    const later = await createAccount(op, fresh.groupG, { billingPlan: "quarterly", renewsOn: "2027-12-15" });
    const monthly = await createAccount(op, fresh.groupG);
    const inSibling = await createAccount(op, fresh.groupS, {
      billingPlan: "yearly",
      renewsOn: "2027-10-05",
    });
    await op.ok("POST", `/api/v1/accounts/${inSibling.id}/disable`, { reason: "lost" }, 200);
    const asked = await op
      .ok<Outcome>("POST", `/api/v1/accounts/${monthly.id}/activation-request`)
      .catch(() => null);
    expect(asked).toBeNull(); // active: nothing to activate
    await op.ok("POST", `/api/v1/accounts/${inSibling.id}/activation-request`);
    await test.server.subscriptions.schedule.run();

    const ids = async (query: string) =>
      (
        await op.ok<{ items: Array<{ id: string }> }>(
          "GET",
          `/api/v1/accounts?groupId=${fresh.groupP}&${query}`,
        )
      ).items.map((a) => a.id);
    expect(await ids("subscription=due_soon")).toEqual([soon.id]);
    expect(await ids("subscription=activation_pending")).toEqual([inSibling.id]);
    expect(await ids("billingPlan=quarterly")).toEqual([later.id]);
    expect(await ids("sort=renewsOn")).toEqual([inSibling.id, soon.id, later.id, monthly.id]);
    expect(await ids("sort=-renewsOn")).toEqual([monthly.id, later.id, soon.id, inSibling.id]);
    const bad = await op.call("GET", "/api/v1/accounts?subscription=sleeping");
    expect(bad.status).toBe(400);
    expect(problem(bad).errors?.map((e) => e.path)).toEqual(["query.subscription"]);

    const csv = await op.call("GET", `/api/v1/accounts.csv?groupId=${fresh.groupP}&subscription=due_soon`);
    const [header, row] = csv.text.trim().split("\r\n");
    expect(header).toContain("billingPlan,renewsOn,subscriptionState,dueSoon,renewedWithoutNotice");
    expect(row).toContain("yearly,2027-10-20,active,true,false");

    const groups = await op.ok<{
      items: Array<{ id: string; activeDevices: number; dueForRenewal: number; hasActiveDevices: boolean }>;
    }>(
      "GET",
      `/api/v1/groups?organisationId=${(await op.ok<{ organisationId: string }>("GET", `/api/v1/groups/${fresh.groupP}`)).organisationId}&pageSize=10`,
    );
    const byId = new Map(groups.items.map((g) => [g.id, g]));
    expect(byId.get(fresh.groupG)).toMatchObject({
      activeDevices: 3,
      dueForRenewal: 1,
      hasActiveDevices: true,
    });
    expect(byId.get(fresh.groupS)).toMatchObject({
      activeDevices: 0,
      dueForRenewal: 0,
      hasActiveDevices: false,
    });
    // P counts its sub-groups.
    expect(byId.get(fresh.groupP)).toMatchObject({
      activeDevices: 3,
      dueForRenewal: 1,
      hasActiveDevices: true,
    });
    const organisationId = (await op.ok<{ organisationId: string }>("GET", `/api/v1/groups/${fresh.groupP}`))
      .organisationId;
    const inactive = await op.ok<{ items: Array<{ id: string }> }>(
      "GET",
      `/api/v1/groups?organisationId=${organisationId}&hasActiveDevices=false`,
    );
    expect(inactive.items.map((g) => g.id)).toEqual([fresh.groupS]);
    // A group admin of G sees its group's counts, and nothing of S.
    const own = await fresh.users.groupAdmin.client.ok<{
      items: Array<{ id: string; activeDevices: number }>;
    }>("GET", "/api/v1/groups");
    expect(own.items.map((g) => [g.id, g.activeDevices])).toEqual([[fresh.groupG, 3]]);
  }, 180_000);
});
