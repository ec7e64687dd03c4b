import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiClient, apiClient } from "../support/api.js";
import { databaseKind } from "../support/database.js";
import { startTestServer, type TestServer } from "../support/server.js";

let seq = 0;
const unique = (prefix: string) => `${prefix}-${process.pid}-${++seq}`;

interface Problem {
  status: number;
  detail: string;
  errors?: Array<{ path: string; message: string }>;
}

describe(`tenancy PATCHes that change nothing, and tokens over the API, on ${databaseKind}`, () => {
  let t: TestServer;
  let op: ApiClient;

  beforeAll(async () => {
    t = await startTestServer();
    op = apiClient(t.url, t.operatorToken);
  });
  afterAll(async () => {
    await t.stop();
  });

  const auditCount = async (targetId: string) =>
    Number(
      (
        await t.db.database
          .knex("audit_events")
          .where({ target_id: targetId })
          .count<{ n: string }[]>({ n: "*" })
      )[0]?.n,
    );

  it("organisations, groups and users: a PATCH that sends what is there writes no audit event and keeps updatedAt", async () => {
    const org = await op.ok<{ id: string; name: string; updatedAt: string }>(
      "POST",
      "/api/v1/organisations",
      {
        name: unique("Org"),
      },
    );
    const group = await op.ok<{ id: string; name: string; updatedAt: string }>("POST", "/api/v1/groups", {
      organisationId: org.id,
      name: unique("Group"),
      reference: "REF-1",
    });
    const user = await op.ok<{ id: string; email: string; updatedAt: string }>("POST", "/api/v1/users", {
      email: `${unique("user")}@example.net`,
      name: "Same User",
      role: "company_admin",
      organisationId: org.id,
    });
    const cases: Array<[string, { id: string; updatedAt: string }, Record<string, unknown>[]]> = [
      ["organisations", org, [{}, { name: org.name }, { active: true }]],
      ["groups", group, [{}, { name: group.name, reference: "REF-1" }, { active: true, itEmail: null }]],
      [
        "users",
        user,
        [{}, { name: "Same User" }, { role: "company_admin", organisationId: org.id, active: true }],
      ],
    ];
    for (const [collection, resource, bodies] of cases) {
      const audits = await auditCount(resource.id);
      for (const body of bodies) {
        const same = await op.call("PATCH", `/api/v1/${collection}/${resource.id}`, body);
        expect(same.status, `${collection} ${JSON.stringify(body)}: ${same.text}`).toBe(200);
        expect(same.json, `${collection} ${JSON.stringify(body)}`).toEqual(resource);
      }
      expect(await auditCount(resource.id), collection).toBe(audits);
      const changed = await op.ok<{ updatedAt: string }>(
        "PATCH",
        `/api/v1/${collection}/${resource.id}`,
        { name: unique("Renamed") },
        200,
      );
      expect(changed.updatedAt > resource.updatedAt, collection).toBe(true);
      expect(await auditCount(resource.id), collection).toBe(audits + 1);
    }
  });

  it("a 409 names the clashing field in errors", async () => {
    const name = unique("Taken");
    await op.ok("POST", "/api/v1/organisations", { name });
    const clash = await op.call("POST", "/api/v1/organisations", { name });
    expect(clash.status).toBe(409);
    expect((clash.json as Problem).errors).toEqual([
      { path: "body.name", message: "an organisation with this name already exists" },
    ]);
  });

  it("validation answers in the project's words, not the library's", async () => {
    const result = await op.call("POST", "/api/v1/groups", {
      organisationId: "not-a-uuid",
      itEmail: "nope",
      active: "yes",
    });
    expect(result.status).toBe(400);
    const errors = (result.json as Problem).errors ?? [];
    expect(errors).toEqual(
      expect.arrayContaining([
        { path: "body.organisationId", message: "must be a UUID" },
        { path: "body.name", message: "is required" },
        { path: "body.itEmail", message: "must be an e-mail address" },
      ]),
    );
    for (const error of errors) expect(error.message).not.toMatch(/Invalid|expected|received/);
  });

  describe("POST /api/v1/tokens: provisiond token create over the API", () => {
    it("creates a token for the calling operator, shown once, audited, and it works", async () => {
      const created = await op.ok<{ id: string; token: string; name: string; userId: string }>(
        "POST",
        "/api/v1/tokens",
        { role: "operator", name: "ci" },
      );
      expect(created.token).toMatch(/^pvd_[A-Za-z0-9_-]{43}$/);
      expect(created.name).toBe("ci");
      const me = await apiClient(t.url, created.token).ok<{ userId: string; role: string }>(
        "GET",
        "/api/v1/me",
      );
      expect(me.role).toBe("operator");
      const listed = await op.ok<{ items: Array<Record<string, unknown>> }>(
        "GET",
        `/api/v1/users/${created.userId}/tokens`,
      );
      const row = listed.items.find((item) => item.id === created.id);
      expect(row).toBeDefined();
      expect(row).not.toHaveProperty("token");
      const audit = await t.db.database.knex("audit_events").where({ target_id: created.id }).first();
      expect(audit.action).toBe("token.created");
      expect(JSON.stringify(audit)).not.toContain(created.token);
    });

    it("creates one for a named user of that role, and refuses a wrong role or an unknown e-mail naming the field", async () => {
      const org = await op.ok<{ id: string }>("POST", "/api/v1/organisations", { name: unique("Org") });
      const email = `${unique("admin")}@example.net`;
      const admin = await op.ok<{ id: string }>("POST", "/api/v1/users", {
        email,
        name: "Admin",
        role: "company_admin",
        organisationId: org.id,
      });
      const created = await op.ok<{ userId: string; token: string }>("POST", "/api/v1/tokens", {
        role: "company_admin",
        email: email.toUpperCase(),
      });
      expect(created.userId).toBe(admin.id);
      const before = Number(
        (await t.db.database.knex("api_tokens").count<{ n: string }[]>({ n: "*" }))[0]?.n,
      );
      const wrongRole = await op.call("POST", "/api/v1/tokens", { role: "operator", email });
      expect(wrongRole.status).toBe(409);
      expect((wrongRole.json as Problem).errors?.[0]?.path).toBe("body.role");
      const unknown = await op.call("POST", "/api/v1/tokens", {
        role: "company_admin",
        email: "nobody@example.net",
      });
      expect(unknown.status).toBe(400);
      expect((unknown.json as Problem).errors).toEqual([
        { path: "body.email", message: "no user with this e-mail" },
      ]);
      const noEmail = await op.call("POST", "/api/v1/tokens", { role: "group_admin" });
      expect((noEmail.json as Problem).errors?.[0]?.path).toBe("body.email");
      const badRole = await op.call("POST", "/api/v1/tokens", { role: "king" });
      expect((badRole.json as Problem).errors).toEqual([
        {
          path: "body.role",
          message: "must be one of operator, company_admin, group_admin, group_supervisor",
        },
      ]);
      expect(Number((await t.db.database.knex("api_tokens").count<{ n: string }[]>({ n: "*" }))[0]?.n)).toBe(
        before,
      );
      const asAdmin = await apiClient(t.url, created.token).call("POST", "/api/v1/tokens", {
        role: "operator",
      });
      expect(asAdmin.status).toBe(403);
    });
  });
});
