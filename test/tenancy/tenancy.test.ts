import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiClient, apiClient } from "../support/api.js";
import { databaseKind } from "../support/database.js";
import { startTestServer, type TestServer } from "../support/server.js";

interface Problem {
  status: number;
  detail: string;
  errors?: Array<{ path: string; message: string }>;
}
interface Page<T> {
  items: T[];
  page: number;
  pageSize: number;
  total: number;
}
interface Named {
  id: string;
  name: string;
}

let seq = 0;
const unique = (prefix: string) => `${prefix} ${process.pid}-${++seq}`;

describe(`organisations, groups, users and tokens on ${databaseKind}`, () => {
  let t: TestServer;
  let op: ApiClient;

  beforeAll(async () => {
    t = await startTestServer();
    op = apiClient(t.url, t.operatorToken);
  });
  afterAll(async () => {
    await t.stop();
  });

  const tableCounts = async () => {
    const knex = t.db.database.knex;
    const counts: Record<string, number> = {};
    for (const table of ["organisations", "groups", "users", "api_tokens", "audit_events"]) {
      const [row] = await knex(table).count<{ n: string }[]>({ n: "*" });
      counts[table] = Number(row?.n);
    }
    return counts;
  };

  async function tree() {
    const org = await op.ok<Named>("POST", "/api/v1/organisations", { name: unique("Org") });
    const root = await op.ok<Named>("POST", "/api/v1/groups", { organisationId: org.id, name: "Root" });
    const child = await op.ok<Named>("POST", "/api/v1/groups", { parentId: root.id, name: "Child" });
    const grandchild = await op.ok<Named>("POST", "/api/v1/groups", {
      parentId: child.id,
      name: "Grandchild",
    });
    const sibling = await op.ok<Named>("POST", "/api/v1/groups", { parentId: root.id, name: "Sibling" });
    return { org, root, child, grandchild, sibling };
  }

  async function tokenFor(body: Record<string, unknown>): Promise<{ userId: string; client: ApiClient }> {
    const user = await op.ok<{ id: string }>("POST", "/api/v1/users", {
      email: `${unique("u").replace(/\s/g, "")}@example.com`,
      name: "Someone",
      ...body,
    });
    const token = await op.ok<{ token: string }>("POST", `/api/v1/users/${user.id}/tokens`, {});
    return { userId: user.id, client: apiClient(t.url, token.token) };
  }

  it("shows a group admin only their group and its sub-groups, at any depth", async () => {
    const a = await tree();
    const other = await tree();
    const { client } = await tokenFor({ role: "group_admin", groupId: a.child.id });
    const groups = await client.ok<Page<Named>>("GET", "/api/v1/groups?pageSize=500");
    expect(groups.items.map((g) => g.id).sort()).toEqual([a.child.id, a.grandchild.id].sort());
    expect((await client.call("GET", `/api/v1/groups/${a.sibling.id}`)).status).toBe(404);
    expect((await client.call("GET", `/api/v1/groups/${other.child.id}`)).status).toBe(404);
    const orgs = await client.ok<Page<Named>>("GET", "/api/v1/organisations");
    expect(orgs.items.map((o) => o.id)).toEqual([a.org.id]);

    const admin = await tokenFor({ role: "company_admin", organisationId: other.org.id });
    const theirs = await admin.client.ok<Page<Named & { organisationId: string }>>(
      "GET",
      "/api/v1/groups?pageSize=500",
    );
    expect(theirs.total).toBe(4);
    expect(new Set(theirs.items.map((g) => g.organisationId))).toEqual(new Set([other.org.id]));
  });

  it("moves a group under another of the same organisation and refuses a cycle", async () => {
    const a = await tree();
    const moved = await op.ok<{ parentId: string }>("PATCH", `/api/v1/groups/${a.sibling.id}`, {
      parentId: a.grandchild.id,
    });
    expect(moved.parentId).toBe(a.grandchild.id);

    const before = await tableCounts();
    const cycle = await op.call("PATCH", `/api/v1/groups/${a.root.id}`, { parentId: a.sibling.id });
    expect(cycle.status).toBe(400);
    expect((cycle.json as Problem).errors).toEqual([
      { path: "body.parentId", message: "a group cannot move under itself or one of its sub-groups" },
    ]);
    const self = await op.call("PATCH", `/api/v1/groups/${a.child.id}`, { parentId: a.child.id });
    expect(self.status).toBe(400);

    const other = await tree();
    const across = await op.call("PATCH", `/api/v1/groups/${a.child.id}`, { parentId: other.root.id });
    expect(across.status).toBe(400);
    expect((across.json as Problem).errors?.[0]).toEqual({
      path: "body.parentId",
      message: "the parent group belongs to another organisation",
    });
    const created = await op.call("POST", "/api/v1/groups", {
      organisationId: a.org.id,
      parentId: other.root.id,
      name: "X",
    });
    expect(created.status).toBe(400);
    expect((created.json as Problem).errors?.[0]?.path).toBe("body.parentId");
    const after = await tableCounts();
    expect(after).toEqual({
      ...before,
      organisations: (before.organisations ?? 0) + 1,
      groups: (before.groups ?? 0) + 4,
      audit_events: after.audit_events,
    });
    const g = await op.ok<{ parentId: string }>("GET", `/api/v1/groups/${a.root.id}`);
    expect(g.parentId).toBeNull();
  });

  it("refuses bad input with problem+json naming the field, changing nothing", async () => {
    const a = await tree();
    const before = await tableCounts();
    const cases: Array<[string, string, unknown, string[]]> = [
      ["POST", "/api/v1/organisations", { name: "Fine", colour: "red" }, ["body"]],
      ["POST", "/api/v1/organisations", { name: 42 }, ["body.name"]],
      ["POST", "/api/v1/organisations", { name: "x".repeat(201) }, ["body.name"]],
      ["POST", "/api/v1/organisations", { name: "   " }, ["body.name"]],
      ["POST", "/api/v1/groups", { name: "No organisation" }, ["body.organisationId"]],
      ["POST", "/api/v1/groups", { organisationId: "not-a-uuid", name: "G" }, ["body.organisationId"]],
      [
        "POST",
        "/api/v1/groups",
        { organisationId: a.org.id, name: "G", itEmail: "not-an-email" },
        ["body.itEmail"],
      ],
      [
        "POST",
        "/api/v1/groups",
        { organisationId: "00000000-0000-4000-8000-000000000000", name: "G" },
        ["body.organisationId"],
      ],
      ["PATCH", `/api/v1/groups/${a.child.id}`, { active: "yes" }, ["body.active"]],
      ["POST", "/api/v1/users", { email: "x@example.com", name: "X", role: "king" }, ["body.role"]],
      [
        "POST",
        "/api/v1/users",
        { email: "y@example.com", name: "Y", role: "company_admin" },
        ["body.organisationId"],
      ],
      [
        "POST",
        "/api/v1/users",
        { email: "z@example.com", name: "Z", role: "operator", groupId: a.child.id },
        ["body.groupId"],
      ],
      ["POST", `/api/v1/users/${a.child.id}/tokens`, { lifetime: 3 }, ["body"]],
      ["GET", "/api/v1/organisations?pageSize=501", undefined, ["query.pageSize"]],
      ["GET", "/api/v1/organisations?sort=-colour", undefined, ["query.sort"]],
      ["GET", "/api/v1/groups/123", undefined, ["params.id"]],
    ];
    for (const [method, path, body, paths] of cases) {
      const result = await op.call(method, path, body);
      expect(result.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(400);
      expect(result.headers.get("content-type")).toContain("application/problem+json");
      expect((result.json as Problem).errors?.map((e) => e.path).sort(), `${method} ${path}`).toEqual(paths);
    }
    expect(await tableCounts()).toEqual(before);
  });

  it("refuses to delete an organisation or group that still has something in it", async () => {
    const a = await tree();
    const org = await op.call("DELETE", `/api/v1/organisations/${a.org.id}`);
    expect(org.status).toBe(409);
    expect((org.json as Problem).detail).toMatch(/still has 4 group/);
    const group = await op.call("DELETE", `/api/v1/groups/${a.root.id}`);
    expect(group.status).toBe(409);
    for (const g of [a.grandchild, a.child, a.sibling, a.root])
      await op.ok("DELETE", `/api/v1/groups/${g.id}`);
    const gone = await op.ok<Named>("DELETE", `/api/v1/organisations/${a.org.id}`);
    expect(gone.id).toBe(a.org.id);
    expect((await op.call("GET", `/api/v1/organisations/${a.org.id}`)).status).toBe(404);
  });

  it("answers 409 for a duplicate organisation name or user e-mail", async () => {
    const name = unique("Dup");
    await op.ok("POST", "/api/v1/organisations", { name });
    expect((await op.call("POST", "/api/v1/organisations", { name: name.toUpperCase() })).status).toBe(409);
    const email = `${unique("dup").replace(/\s/g, "")}@example.com`;
    await op.ok("POST", "/api/v1/users", { email, name: "A", role: "operator" });
    const again = await op.call("POST", "/api/v1/users", {
      email: email.toUpperCase(),
      name: "B",
      role: "operator",
    });
    expect(again.status).toBe(409);
    expect((again.json as Problem).detail).toBe("a user with this e-mail already exists");
  });

  it("never lets a role grant more than it has", async () => {
    const a = await tree();
    const companyAdmin = await tokenFor({ role: "company_admin", organisationId: a.org.id });
    const up = await companyAdmin.client.call("POST", "/api/v1/users", {
      email: "boss@example.com",
      name: "B",
      role: "operator",
    });
    expect(up.status).toBe(403);
    const groupAdmin = await tokenFor({ role: "group_admin", groupId: a.child.id });
    const sideways = await groupAdmin.client.call("POST", "/api/v1/users", {
      email: "ca@example.com",
      name: "C",
      role: "company_admin",
      organisationId: a.org.id,
    });
    expect(sideways.status).toBe(403);
    const toTopLevel = await groupAdmin.client.call("PATCH", `/api/v1/groups/${a.child.id}`, {
      parentId: null,
    });
    expect(toTopLevel.status).toBe(403);
    const rootGroup = await groupAdmin.client.call("POST", "/api/v1/groups", {
      organisationId: a.org.id,
      name: "Top",
    });
    expect(rootGroup.status).toBe(403);
    const supervisor = await tokenFor({ role: "group_supervisor", groupId: a.child.id });
    const own = await supervisor.client.call("POST", `/api/v1/users/${supervisor.userId}/tokens`, {
      name: "mine",
    });
    expect(own.status).toBe(201);
    const others = await supervisor.client.call("POST", `/api/v1/users/${groupAdmin.userId}/tokens`, {});
    expect(others.status).toBe(403);
  });

  it("keeps the last active operator", async () => {
    const me = await op.ok<{ userId: string }>("GET", "/api/v1/me");
    const operators = await op.ok<Page<{ id: string }>>(
      "GET",
      "/api/v1/users?role=operator&active=true&pageSize=500",
    );
    for (const other of operators.items.filter((u) => u.id !== me.userId)) {
      await op.ok("PATCH", `/api/v1/users/${other.id}`, { active: false });
    }
    const refused = await op.call("PATCH", `/api/v1/users/${me.userId}`, { active: false });
    expect(refused.status).toBe(409);
    expect((await op.call("DELETE", `/api/v1/users/${me.userId}`)).status).toBe(409);
    expect((await op.call("GET", "/api/v1/me")).status).toBe(200);
  });

  it("shows a token once, lists tokens without secrets, and revokes them", async () => {
    const user = await op.ok<{ id: string }>("POST", "/api/v1/users", {
      email: `${unique("tok").replace(/\s/g, "")}@example.com`,
      name: "Token user",
      role: "operator",
    });
    const created = await op.ok<{ id: string; token: string; expiresAt: string }>(
      "POST",
      `/api/v1/users/${user.id}/tokens`,
      {
        name: "portal",
        expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
      },
    );
    expect(created.token).toMatch(/^pvd_/);
    const client = apiClient(t.url, created.token);
    expect((await client.call("GET", "/api/v1/me")).status).toBe(200);
    const list = await op.call("GET", `/api/v1/users/${user.id}/tokens`);
    expect(list.status).toBe(200);
    expect(list.text).not.toContain(created.token);
    expect(list.text).not.toContain("tokenHash");
    expect((list.json as Page<{ id: string; lastUsedAt: string }>).items[0]?.lastUsedAt).not.toBeNull();
    const revoked = await op.ok<{ revokedAt: string }>("DELETE", `/api/v1/tokens/${created.id}`);
    expect(revoked.revokedAt).not.toBeNull();
    expect((await client.call("GET", "/api/v1/me")).status).toBe(401);
    const past = await op.call("POST", `/api/v1/users/${user.id}/tokens`, {
      expiresAt: "2000-01-01T00:00:00Z",
    });
    expect(past.status).toBe(400);
    expect((past.json as Problem).errors?.[0]?.path).toBe("body.expiresAt");
    const audit = JSON.stringify(await op.ok("GET", "/api/v1/audit-events?targetType=token&pageSize=500"));
    expect(audit).not.toContain(created.token);
  });

  it("audits every change with actor, before, after and request id, scoped like everything else", async () => {
    const a = await tree();
    const response = await fetch(`${t.url}/api/v1/groups/${a.child.id}`, {
      method: "PATCH",
      headers: {
        authorization: `Bearer ${t.operatorToken}`,
        "content-type": "application/json",
        "x-request-id": "audit-check-1",
      },
      body: JSON.stringify({ name: "Renamed child" }),
    });
    expect(response.status).toBe(200);
    const events = await op.ok<Page<Record<string, unknown>>>(
      "GET",
      `/api/v1/audit-events?targetId=${a.child.id}`,
    );
    expect(events.items.map((e) => e.action)).toEqual(["group.updated", "group.created"]);
    expect(events.items[0]).toMatchObject({
      actor: { label: "operator@localhost" },
      targetType: "group",
      organisationId: a.org.id,
      groupId: a.child.id,
      before: { name: "Child" },
      after: { name: "Renamed child" },
      requestId: "audit-check-1",
    });

    const other = await tree();
    const outsider = await tokenFor({ role: "company_admin", organisationId: other.org.id });
    const seen = await outsider.client.ok<Page<{ organisationId: string }>>(
      "GET",
      "/api/v1/audit-events?pageSize=500",
    );
    expect(seen.total).toBeGreaterThan(0);
    expect(new Set(seen.items.map((e) => e.organisationId))).toEqual(new Set([other.org.id]));
    const groupAdmin = await tokenFor({ role: "group_admin", groupId: a.grandchild.id });
    const theirs = await groupAdmin.client.ok<Page<{ groupId: string }>>(
      "GET",
      "/api/v1/audit-events?pageSize=500",
    );
    expect(new Set(theirs.items.map((e) => e.groupId))).toEqual(new Set([a.grandchild.id]));
  });

  it("pages, searches, sorts and exports lists as CSV", async () => {
    const tag = unique("Paging").replace(/\s/g, "");
    for (const suffix of ["c", "a", "e", "b", "d"]) {
      await op.ok("POST", "/api/v1/organisations", { name: `${tag}-${suffix}` });
    }
    await op.ok("POST", "/api/v1/organisations", { name: `=HYPERLINK("x")${tag}` });
    const page2 = await op.ok<Page<Named>>(
      "GET",
      `/api/v1/organisations?q=${tag}-&sort=-name&page=2&pageSize=2`,
    );
    expect(page2).toMatchObject({ page: 2, pageSize: 2, total: 5 });
    expect(page2.items.map((o) => o.name)).toEqual([`${tag}-c`, `${tag}-b`]);
    const wildcard = await op.ok<Page<Named>>("GET", "/api/v1/organisations?q=%25");
    expect(wildcard.total).toBe(0);

    const csv = await op.call("GET", `/api/v1/organisations.csv?q=${tag}&sort=name`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(csv.headers.get("content-disposition")).toContain("organisations.csv");
    const lines = csv.text.trimEnd().split("\r\n");
    expect(lines[0]).toBe("id,name,active,createdAt");
    expect(lines).toHaveLength(7);
    const formula = lines.filter((line) => line.includes("HYPERLINK"));
    expect(formula).toHaveLength(1);
    expect(formula[0]).toContain(`"'=HYPERLINK(""x"")${tag}"`);
    const plain = lines.slice(1).filter((line) => !line.includes("HYPERLINK"));
    expect(plain.map((l) => l.split(",")[1])).toEqual(["a", "b", "c", "d", "e"].map((s) => `${tag}-${s}`));
  });
});

describe(`throttling of refused API tokens on ${databaseKind}`, () => {
  let t: TestServer;
  let op: ApiClient;
  beforeAll(async () => {
    t = await startTestServer({ config: { http: { host: "127.0.0.1", port: 0, authFailureLimit: 5 } } });
    op = apiClient(t.url, t.operatorToken);
  });
  afterAll(async () => {
    await t.stop();
  });

  it("rate limits an address after repeated refused tokens, and logs them as security events", async () => {
    const bad = apiClient(t.url, "pvd_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await bad.call("GET", "/api/v1/me")).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    const blocked = await bad.call("GET", "/api/v1/me");
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
    // Issue 11: the address is a portal backend for many users; a valid token is still served.
    expect((await op.call("GET", "/api/v1/me")).status).toBe(200);
    expect((await op.call("GET", "/api/v1/organisations")).status).toBe(200);
    expect((await bad.call("GET", "/api/v1/organisations")).status).toBe(429);
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    const security = t.logs.lines().filter((line) => line.security === "api-token-refused");
    expect(security.length).toBeGreaterThanOrEqual(5);
    expect(t.logs.text()).not.toContain("pvd_AAAA");
  });
});
