import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/logger.js";
import type { CallRecord } from "../../src/sip/call-record.js";
import { CdrWriter } from "../../src/sip/cdr-store.js";
import { type ApiClient, apiClient } from "../support/api.js";
import { databaseKind } from "../support/database.js";
import { startTestServer, type TestServer } from "../support/server.js";

let seq = 0;
const unique = (prefix: string) => `${prefix}-${process.pid}-${++seq}`;

/** Call records through the admin API: filters, paging, CSV, tenancy scopes, bad input. */
describe(`call records on ${databaseKind}`, () => {
  let t: TestServer;
  let operator: ApiClient;
  const org: Record<"a" | "b", string> = { a: "", b: "" };
  const group: Record<"a" | "child" | "b", string> = { a: "", child: "", b: "" };
  const account: Record<"a1" | "child1" | "b1", string> = { a1: "", child1: "", b1: "" };
  let companyAdminB: ApiClient;
  let groupAdminChild: ApiClient;

  const record = (overrides: Partial<CallRecord>): CallRecord => ({
    id: crypto.randomUUID(),
    callId: unique("call"),
    caller: "a1@a.example",
    callee: "x@a.example",
    callerAccountId: account.a1,
    calleeAccountId: null,
    callerGroupId: group.a,
    calleeGroupId: null,
    startedAt: new Date(),
    answeredAt: null,
    endedAt: new Date(),
    durationSeconds: 0,
    status: "busy",
    sipStatus: 486,
    endedBy: null,
    announcement: null,
    ...overrides,
  });

  const tokenFor = async (body: Record<string, unknown>) => {
    const user = await operator.ok<{ id: string }>("POST", "/api/v1/users", {
      email: `${unique("user")}@example.com`,
      name: "User",
      ...body,
    });
    const issued = await operator.ok<{ token: string }>("POST", `/api/v1/users/${user.id}/tokens`, {
      name: "t",
    });
    return apiClient(t.url, issued.token);
  };

  beforeAll(async () => {
    t = await startTestServer();
    operator = apiClient(t.url, t.operatorToken);
    for (const key of ["a", "b"] as const) {
      org[key] = (
        await operator.ok<{ id: string }>("POST", "/api/v1/organisations", { name: unique("Org") })
      ).id;
      const profile = await operator.ok<{ id: string }>("POST", "/api/v1/profiles", {
        organisationId: org[key],
        name: unique("Profile"),
        sipDomain: `${key}.example`,
        serverHost: "127.0.0.1",
      });
      group[key] = (
        await operator.ok<{ id: string }>("POST", "/api/v1/groups", {
          organisationId: org[key],
          name: unique("Group"),
          defaultProfileId: profile.id,
        })
      ).id;
    }
    group.child = (
      await operator.ok<{ id: string }>("POST", "/api/v1/groups", {
        parentId: group.a,
        name: unique("Child"),
      })
    ).id;
    const create = async (groupId: string, username: string) =>
      (
        await operator.ok<{ id: string }>("POST", "/api/v1/accounts", {
          groupId,
          type: "PGSM",
          mode: "manual",
          username,
          password: "password-123456",
        })
      ).id;
    account.a1 = await create(group.a, "6001");
    account.child1 = await create(group.child, "6002");
    account.b1 = await create(group.b, "6003");
    companyAdminB = await tokenFor({ role: "company_admin", organisationId: org.b });
    groupAdminChild = await tokenFor({ role: "group_admin", groupId: group.child });

    const writer = new CdrWriter(t.db.database.knex, 10, createLogger("silent"));
    const old = new Date(Date.now() - 60 * 86_400_000);
    writer.record(
      record({
        caller: "a1@a.example",
        status: "answered",
        sipStatus: 200,
        durationSeconds: 42,
        endedBy: "caller",
      }),
    );
    writer.record(record({ status: "busy" }));
    writer.record(record({ status: "busy", startedAt: old, endedAt: old }));
    writer.record(
      record({
        caller: "child1@a.example",
        callerAccountId: account.child1,
        callerGroupId: group.child,
        status: "forbidden",
        sipStatus: 403,
        announcement: "caller-disabled",
      }),
    );
    writer.record(
      record({
        caller: "b1@b.example",
        callerAccountId: account.b1,
        callerGroupId: group.b,
        status: "no_answer",
        sipStatus: 408,
      }),
    );
    await writer.close();
  });

  afterAll(async () => {
    await t?.stop();
  });

  type Page = { items: Array<Record<string, unknown>>; total: number };

  it("lists call records with filters by status, account, group with sub-groups and time", async () => {
    expect((await operator.ok<Page>("GET", "/api/v1/cdrs")).total).toBe(5);
    const busy = await operator.ok<Page>("GET", "/api/v1/cdrs?status=busy");
    expect(busy.total).toBe(2);
    const byGroup = await operator.ok<Page>("GET", `/api/v1/cdrs?groupId=${group.a}`);
    expect(byGroup.total).toBe(4);
    const byChild = await operator.ok<Page>("GET", `/api/v1/cdrs?groupId=${group.child}`);
    expect(byChild.items).toMatchObject([{ caller: "child1@a.example", announcement: "caller-disabled" }]);
    const recent = await operator.ok<Page>(
      "GET",
      `/api/v1/cdrs?accountId=${account.a1}&from=${encodeURIComponent(new Date(Date.now() - 86_400_000).toISOString())}`,
    );
    expect(recent.total).toBe(2);
    const page = await operator.ok<Page>("GET", "/api/v1/cdrs?pageSize=2&page=2&sort=-startedAt");
    expect(page.items).toHaveLength(2);
  });

  it("lists an account's calls of the last month by default", async () => {
    const mine = await operator.ok<Page>("GET", `/api/v1/accounts/${account.a1}/cdrs`);
    expect(mine.total).toBe(2);
    expect(mine.items[0]).toMatchObject({ callerAccountId: account.a1 });
  });

  it("exports the same list as CSV", async () => {
    const csv = await operator.call("GET", "/api/v1/cdrs.csv?status=busy");
    expect(csv.status).toBe(200);
    expect(csv.headers.get("content-type")).toMatch(/text\/csv/);
    const lines = csv.text.trim().split("\r\n");
    expect(lines[0]).toMatch(/^id,caller,callee,startedAt,answeredAt,endedAt,durationSeconds,status/);
    expect(lines).toHaveLength(3);
  });

  it("scopes call records by tenancy", async () => {
    const b = await companyAdminB.ok<Page>("GET", "/api/v1/cdrs");
    expect(b.items.map((item) => item.caller)).toEqual(["b1@b.example"]);
    const child = await groupAdminChild.ok<Page>("GET", "/api/v1/cdrs");
    expect(child.items.map((item) => item.caller)).toEqual(["child1@a.example"]);
    expect((await companyAdminB.call("GET", `/api/v1/accounts/${account.a1}/cdrs`)).status).toBe(404);
  });

  it("refuses bad filters with a problem naming the field", async () => {
    for (const [query, field] of [
      ["status=ringing", "status"],
      ["from=yesterday", "from"],
      ["accountId=42", "accountId"],
      ["pageSize=501", "pageSize"],
      ["sort=caller", "sort"],
    ] as const) {
      const result = await operator.call("GET", `/api/v1/cdrs?${query}`);
      expect(result.status, query).toBe(400);
      expect(result.headers.get("content-type")).toMatch(/problem\+json/);
      expect(JSON.stringify(result.json), query).toContain(field);
    }
    expect((await operator.call("GET", "/api/v1/accounts/not-a-uuid/cdrs")).status).toBe(400);
  });
});
