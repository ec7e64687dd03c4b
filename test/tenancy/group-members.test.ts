import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as groupMembersMigration from "../../migrations/20261203000250_group_members.js";
import { tenancyStore } from "../../src/tenancy/store.js";
import type { Problem } from "../accounts/fixtures.js";
import { type ApiClient, apiClient } from "../support/api.js";
import { databaseKind } from "../support/database.js";
import { startTestServer, type TestServer } from "../support/server.js";

let seq = 0;
const unique = (prefix: string) => `${prefix}-${process.pid}-${++seq}`;

interface User {
  id: string;
  email: string;
  role: string;
  groupId: string | null;
  groupIds: string[];
}
interface Members {
  groupId: string;
  userIds: string[];
  users: User[];
}
interface Page<T> {
  items: T[];
  total: number;
}

describe(`users assigned to groups, on ${databaseKind}`, () => {
  let t: TestServer;
  let op: ApiClient;
  let orgA: string;
  let orgB: string;
  /** Three top-level groups of A; g1 has a sub-group. */
  let g1: string;
  let g1sub: string;
  let g2: string;
  let g3: string;
  let otherGroup: string;
  let companyAdmin: ApiClient;
  let otherCompanyAdmin: ApiClient;
  let otherUser: string;
  /** One account per group of A, by group. */
  const accountOf: Record<string, string> = {};

  beforeAll(async () => {
    t = await startTestServer();
    op = apiClient(t.url, t.operatorToken);
    orgA = (await op.ok<{ id: string }>("POST", "/api/v1/organisations", { name: unique("Org A") })).id;
    orgB = (await op.ok<{ id: string }>("POST", "/api/v1/organisations", { name: unique("Org B") })).id;
    await op.ok("PATCH", `/api/v1/organisations/${orgA}`, { sipDomains: ["members-a.example.net"] });
    const profile = await op.ok<{ id: string }>("POST", "/api/v1/profiles", {
      organisationId: orgA,
      name: unique("Profile"),
      sipDomain: "members-a.example.net",
      serverHost: "sip.members-a.example.net",
    });
    const group = async (body: Record<string, unknown>) =>
      (await op.ok<{ id: string }>("POST", "/api/v1/groups", { name: unique("Group"), ...body })).id;
    g1 = await group({ organisationId: orgA, defaultProfileId: profile.id });
    g1sub = await group({ parentId: g1 });
    g2 = await group({ organisationId: orgA, defaultProfileId: profile.id });
    g3 = await group({ organisationId: orgA, defaultProfileId: profile.id });
    otherGroup = await group({ organisationId: orgB });
    for (const groupId of [g1, g1sub, g2, g3]) {
      accountOf[groupId] = (
        await op.ok<{ id: string }>("POST", "/api/v1/accounts", {
          groupId,
          type: "PGSM",
          displayName: `Phone of ${groupId}`,
        })
      ).id;
    }
    companyAdmin = (await userWithToken({ role: "company_admin", organisationId: orgA })).client;
    otherCompanyAdmin = (await userWithToken({ role: "company_admin", organisationId: orgB })).client;
    const otherOrgGroup = await group({ organisationId: orgB });
    otherUser = (await userWithToken({ role: "group_admin", groupId: otherOrgGroup })).user.id;
  });
  afterAll(async () => {
    await t?.stop();
  });

  async function userWithToken(body: Record<string, unknown>): Promise<{ user: User; client: ApiClient }> {
    const user = await op.ok<User>("POST", "/api/v1/users", {
      email: `${unique("user")}@example.com`,
      name: "Portal user",
      ...body,
    });
    const token = await op.ok<{ token: string }>("POST", `/api/v1/users/${user.id}/tokens`, {});
    return { user, client: apiClient(t.url, token.token) };
  }

  const members = (groupId: string) => op.ok<Members>("GET", `/api/v1/groups/${groupId}/members`);
  const accountIds = async (client: ApiClient) =>
    (await client.ok<Page<{ id: string }>>("GET", "/api/v1/accounts?pageSize=500")).items
      .map((a) => a.id)
      .sort();
  const groupIds = async (client: ApiClient) =>
    (await client.ok<Page<{ id: string }>>("GET", "/api/v1/groups?pageSize=500")).items
      .map((g) => g.id)
      .sort();

  it("assigns a user to several groups: the user shows groupId and groupIds, audited", async () => {
    const { user } = await userWithToken({ role: "group_admin", groupId: g1 });
    expect(user.groupIds).toEqual([g1]);
    expect((await members(g1)).userIds).toContain(user.id);

    const replaced = await companyAdmin.ok<Members>("PUT", `/api/v1/groups/${g2}/members`, {
      userIds: [user.id],
    });
    expect(replaced).toMatchObject({ groupId: g2, userIds: [user.id] });
    expect(replaced.users.map((u) => u.id)).toEqual([user.id]);

    const read = await op.ok<User>("GET", `/api/v1/users/${user.id}`);
    expect(read.groupId).toBe(g1);
    expect(read.groupIds).toEqual([g1, g2]);
    const groups = await op.ok<{ items: Array<{ id: string }> }>("GET", `/api/v1/users/${user.id}/groups`);
    expect(groups.items.map((g) => g.id)).toEqual([g1, g2]);
    const csv = await op.call("GET", `/api/v1/users.csv?groupId=${g2}`);
    expect(csv.text.split(/\r?\n/)[0]).toMatch(/,groupIds$/);
    expect(csv.text).toContain(`${g1} ${g2}`);
    // Listing the users of a group goes by the assignments.
    const ofG2 = await op.ok<Page<User>>("GET", `/api/v1/users?groupId=${g2}&pageSize=500`);
    expect(ofG2.items.map((u) => u.id)).toContain(user.id);

    const events = await op.ok<Page<{ action: string; before: unknown; after: unknown }>>(
      "GET",
      `/api/v1/audit-events?targetId=${g2}&action=group.members_replaced`,
    );
    expect(events.items).toHaveLength(1);
    expect(events.items[0]).toMatchObject({
      before: { userIds: [] },
      after: { userIds: [user.id], added: [user.id], removed: [] },
    });

    // The same set again changes nothing and writes nothing.
    await companyAdmin.ok("PUT", `/api/v1/groups/${g2}/members`, { userIds: [user.id] });
    const again = await op.ok<Page<unknown>>(
      "GET",
      `/api/v1/audit-events?targetId=${g2}&action=group.members_replaced`,
    );
    expect(again.total).toBe(1);
  });

  it("a group admin of two groups sees and acts on both, with their sub-groups, and nothing of a third", async () => {
    const { user, client } = await userWithToken({ role: "group_admin", groupId: g1 });
    await op.ok("PUT", `/api/v1/groups/${g2}/members`, {
      userIds: [...(await members(g2)).userIds, user.id],
    });
    const { user: onlyInG3 } = await userWithToken({ role: "group_supervisor", groupId: g3 });

    const expected = [accountOf[g1], accountOf[g1sub], accountOf[g2]].sort();
    expect(await accountIds(client)).toEqual(expected);
    expect(await groupIds(client)).toEqual([g1, g1sub, g2].sort());
    expect((await client.call("GET", `/api/v1/accounts/${accountOf[g3]}`)).status).toBe(404);
    expect((await client.call("GET", `/api/v1/groups/${g3}`)).status).toBe(404);
    expect((await client.call("GET", `/api/v1/users/${onlyInG3.id}`)).status).toBe(404);
    const users = await client.ok<Page<User>>("GET", "/api/v1/users?pageSize=500");
    expect(users.items.map((u) => u.id)).toContain(user.id);
    expect(users.items.map((u) => u.id)).not.toContain(onlyInG3.id);

    // It acts in both groups, not in the third.
    await client.ok("PATCH", `/api/v1/accounts/${accountOf[g2]}`, { notes: "seen by a two-group admin" });
    await client.ok("PATCH", `/api/v1/accounts/${accountOf[g1sub]}`, { notes: "and in a sub-group" });
    expect(
      (await client.call("PATCH", `/api/v1/accounts/${accountOf[g3]}`, { notes: "not mine" })).status,
    ).toBe(404);

    // The CSV export follows the same scope.
    const csv = await client.call("GET", "/api/v1/accounts.csv");
    expect(csv.status).toBe(200);
    for (const id of expected) expect(csv.text).toContain(id);
    expect(csv.text).not.toContain(accountOf[g3]);

    // So do the audit trail and the call records.
    const audit = await client.ok<Page<{ groupId: string | null }>>(
      "GET",
      "/api/v1/audit-events?pageSize=500",
    );
    const seen = new Set(audit.items.map((e) => e.groupId));
    expect(seen.has(g2)).toBe(true);
    expect(seen.has(g3)).toBe(false);
    const call = (caller: string, callerGroup: string) => ({
      id: crypto.randomUUID(),
      call_id: unique("call"),
      caller,
      callee: "999",
      caller_group_id: callerGroup,
      callee_group_id: null,
      started_at: new Date(),
      status: "answered",
    });
    const inG2 = call("2000", g2);
    const inG3 = call("3000", g3);
    await t.db.database.knex("cdrs").insert([inG2, inG3]);
    const cdrs = await client.ok<Page<{ id: string }>>("GET", "/api/v1/cdrs?pageSize=500");
    expect(cdrs.items.map((c) => c.id)).toContain(inG2.id);
    expect(cdrs.items.map((c) => c.id)).not.toContain(inG3.id);
  });

  it("removing an assignment removes the access at once", async () => {
    const { user, client } = await userWithToken({ role: "group_admin", groupId: g1 });
    const before = (await members(g2)).userIds;
    await companyAdmin.ok("PUT", `/api/v1/groups/${g2}/members`, { userIds: [...before, user.id] });
    expect(await accountIds(client)).toContain(accountOf[g2]);
    expect((await client.call("GET", `/api/v1/accounts/${accountOf[g2]}`)).status).toBe(200);

    await companyAdmin.ok("PUT", `/api/v1/groups/${g2}/members`, { userIds: before });
    // The very next request: no cached scope.
    expect((await client.call("GET", `/api/v1/accounts/${accountOf[g2]}`)).status).toBe(404);
    expect(await accountIds(client)).toEqual([accountOf[g1], accountOf[g1sub]].sort());
    expect(await groupIds(client)).toEqual([g1, g1sub].sort());
    expect((await client.ok<{ groupIds: string[] }>("GET", "/api/v1/me")).groupIds).toEqual([g1]);
  });

  it("removing a user's first group makes its oldest other group its groupId; its only group is refused", async () => {
    const { user, client } = await userWithToken({ role: "group_supervisor", groupId: g1 });
    await op.ok("PUT", `/api/v1/groups/${g3}/members`, {
      userIds: [...(await members(g3)).userIds, user.id],
    });
    const withoutUser = (await members(g1)).userIds.filter((id) => id !== user.id);
    await op.ok("PUT", `/api/v1/groups/${g1}/members`, { userIds: withoutUser });
    const after = await op.ok<User>("GET", `/api/v1/users/${user.id}`);
    expect(after).toMatchObject({ groupId: g3, groupIds: [g3] });
    expect(await accountIds(client)).toEqual([accountOf[g3]]);
    const history = await op.ok<Page<{ action: string; after: { groupId: string } }>>(
      "GET",
      `/api/v1/audit-events?targetId=${user.id}&action=user.updated`,
    );
    expect(history.items[0]?.after.groupId).toBe(g3);

    // g3 is now its only group: taking it away would leave a group user with no scope.
    const g3Members = (await members(g3)).userIds;
    const refused = await op.call("PUT", `/api/v1/groups/${g3}/members`, {
      userIds: g3Members.filter((id) => id !== user.id),
    });
    expect(refused.status).toBe(409);
    expect((refused.json as Problem).errors?.[0]?.path).toBe("body.userIds");
    expect((await members(g3)).userIds).toEqual(g3Members);
  });

  it("a supervisor with several groups reads them all and changes nothing", async () => {
    const { user, client } = await userWithToken({ role: "group_supervisor", groupId: g1 });
    await op.ok("PUT", `/api/v1/groups/${g2}/members`, {
      userIds: [...(await members(g2)).userIds, user.id],
    });
    expect(await accountIds(client)).toEqual([accountOf[g1], accountOf[g1sub], accountOf[g2]].sort());
    expect((await client.call("GET", `/api/v1/groups/${g2}/members`)).status).toBe(200);
    const attempts = [
      client.call("PATCH", `/api/v1/accounts/${accountOf[g2]}`, { notes: "no" }),
      client.call("POST", `/api/v1/accounts/${accountOf[g2]}/move`, { groupId: g1 }),
      client.call("POST", `/api/v1/accounts/${accountOf[g2]}/disable`, { reason: "no" }),
      client.call("PUT", `/api/v1/groups/${g2}/members`, { userIds: [user.id] }),
      client.call("PATCH", `/api/v1/groups/${g2}`, { name: "no" }),
    ];
    for (const attempt of await Promise.all(attempts)) expect(attempt.status, attempt.text).toBe(403);
    const account = await op.ok<{ groupId: string; notes: string | null; status: string }>(
      "GET",
      `/api/v1/accounts/${accountOf[g2]}`,
    );
    expect(account.groupId).toBe(g2);
    expect(account.status).not.toBe("disabled");
  });

  it("group admins read members but do not assign; another organisation's user or group is 404", async () => {
    const { client: groupAdmin } = await userWithToken({ role: "group_admin", groupId: g1 });
    expect((await groupAdmin.call("GET", `/api/v1/groups/${g1}/members`)).status).toBe(200);
    const own = await groupAdmin.call("PUT", `/api/v1/groups/${g1sub}/members`, { userIds: [] });
    expect(own.status).toBe(403);

    const before = await members(g2);
    for (const client of [companyAdmin, op]) {
      const foreignUser = await client.call("PUT", `/api/v1/groups/${g2}/members`, {
        userIds: [...before.userIds, otherUser],
      });
      expect(foreignUser.status, foreignUser.text).toBe(404);
      expect((foreignUser.json as Problem).detail).toContain(`body.userIds[${before.userIds.length}]`);
    }
    expect((await members(g2)).userIds).toEqual(before.userIds);
    expect(
      (await companyAdmin.call("PUT", `/api/v1/groups/${otherGroup}/members`, { userIds: [] })).status,
    ).toBe(404);
    expect((await companyAdmin.call("GET", `/api/v1/groups/${otherGroup}/members`)).status).toBe(404);
    expect((await companyAdmin.call("GET", `/api/v1/users/${otherUser}/groups`)).status).toBe(404);
    expect((await otherCompanyAdmin.call("GET", `/api/v1/groups/${g2}/members`)).status).toBe(404);
  });

  it("refuses bad input naming the field, changing nothing", async () => {
    const before = await members(g2);
    const { user: admin } = await userWithToken({ role: "company_admin", organisationId: orgA });
    const cases: Array<[unknown, number, string]> = [
      [{}, 400, "body.userIds"],
      [{ userIds: "everyone" }, 400, "body.userIds"],
      [{ userIds: ["not-a-uuid"] }, 400, "body.userIds.0"],
      [{ userIds: [], extra: true }, 400, "body"],
      [{ userIds: [admin.id] }, 400, "body.userIds[0]"],
    ];
    for (const [body, status, path] of cases) {
      const refused = await op.call("PUT", `/api/v1/groups/${g2}/members`, body);
      expect(refused.status, refused.text).toBe(status);
      expect(refused.headers.get("content-type")).toContain("application/problem+json");
      expect(JSON.stringify((refused.json as Problem).errors)).toContain(path);
    }
    expect((await op.call("PUT", "/api/v1/groups/not-a-uuid/members", { userIds: [] })).status).toBe(400);
    expect((await op.call("GET", "/api/v1/users/not-a-uuid/groups")).status).toBe(400);
    expect(await members(g2)).toEqual(before);
  });

  it("finds the active users assigned to a group or to a group above it, in one query", async () => {
    const parent = (
      await op.ok<{ id: string }>("POST", "/api/v1/groups", { organisationId: orgA, name: unique("P") })
    ).id;
    const child = (
      await op.ok<{ id: string }>("POST", "/api/v1/groups", { parentId: parent, name: unique("C") })
    ).id;
    const sibling = (
      await op.ok<{ id: string }>("POST", "/api/v1/groups", { parentId: parent, name: unique("S") })
    ).id;
    const above = (await userWithToken({ role: "group_admin", groupId: parent })).user;
    const onChild = (await userWithToken({ role: "group_supervisor", groupId: child })).user;
    const inactive = (await userWithToken({ role: "group_supervisor", groupId: child })).user;
    await op.ok("PATCH", `/api/v1/users/${inactive.id}`, { active: false });
    const onSibling = (await userWithToken({ role: "group_supervisor", groupId: sibling })).user;

    const found = await tenancyStore.activeUsersAssignedToGroupOrAncestors(t.db.database.knex, child);
    const ids = found.map((u) => u.id).sort();
    expect(ids).toEqual([above.id, onChild.id].sort());
    expect(ids).not.toContain(onSibling.id);
    expect(ids).not.toContain(inactive.id);
  });

  it("the migration makes each group user's group its first assignment", async () => {
    const knex = t.db.database.knex;
    const { user } = await userWithToken({ role: "group_supervisor", groupId: g2 });
    await groupMembersMigration.down(knex);
    await groupMembersMigration.up(knex);
    const rows = await knex("group_members").select("group_id", "user_id").orderBy(["user_id", "group_id"]);
    expect(rows).toContainEqual({ group_id: g2, user_id: user.id });
    // Exactly one per group user: its users.group_id.
    const groupUsers = await knex("users")
      .whereIn("role", ["group_admin", "group_supervisor"])
      .select("group_id", "id as user_id")
      .orderBy(["id", "group_id"]);
    expect([...rows].sort(byUser)).toEqual(
      groupUsers.map((u) => ({ group_id: u.group_id, user_id: u.user_id })).sort(byUser),
    );
  });
});

const byUser = (a: { user_id: string; group_id: string }, b: { user_id: string; group_id: string }) =>
  a.user_id === b.user_id ? a.group_id.localeCompare(b.group_id) : a.user_id.localeCompare(b.user_id);
