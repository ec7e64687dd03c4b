import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiClient, apiClient } from "../support/api.js";
import { databaseKind } from "../support/database.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { type AccountBody, createTenant, type Page, type Problem, type Tenant } from "./fixtures.js";

interface ImportResult {
  created: number;
  accounts: Array<{ id: string; username: string; sipDomain: string; password: string }>;
}

describe(`account import, lists and exports on ${databaseKind}`, () => {
  let t: TestServer;
  let op: ApiClient;
  let tenant: Tenant;

  beforeAll(async () => {
    t = await startTestServer();
    op = apiClient(t.url, t.operatorToken);
    tenant = await createTenant(op);
  });
  afterAll(async () => {
    await t.stop();
  });

  const knex = () => t.db.database.knex;
  const counts = async () => {
    const [accounts] = await knex()("accounts").count<{ n: string }[]>({ n: "*" });
    const [audit] = await knex()("audit_events").count<{ n: string }[]>({ n: "*" });
    return { accounts: Number(accounts?.n), audit: Number(audit?.n) };
  };
  const importCsv = (csv: string) => op.call("POST", "/api/v1/accounts/import", csv, "text/csv");

  describe("import", () => {
    it("refuses 1,000 rows with one bad row: nothing is created and the answer names the row and field", async () => {
      const before = await counts();
      const rows = Array.from(
        { length: 1000 },
        (_, i) => `${tenant.groupId},PGSM,${8_000_000 + i},Person ${i}`,
      );
      rows[636] = `${tenant.groupId},PGSM,80x0636,Person 636`;
      const result = await importCsv(`groupId,type,username,displayName\n${rows.join("\n")}\n`);
      expect(result.status).toBe(400);
      const problem = result.json as Problem;
      // Line 638 of the file: the header is line 1, row index 636 is line 638.
      expect(problem.errors).toEqual([{ path: "rows[638].username", message: "must be 3 to 20 digits" }]);
      expect(await counts()).toEqual(before);
    });

    it("refuses a file whose rows clash with each other or with existing accounts, listing each", async () => {
      await op.ok("POST", "/api/v1/accounts", { groupId: tenant.groupId, type: "PGSM", username: "8100001" });
      const before = await counts();
      const result = await importCsv(
        [
          "groupId,type,username,macAddress",
          `${tenant.groupId},PGSM,8100001,`,
          `${tenant.groupId},SNOM,8100002,00:04:13:00:00:01`,
          `${tenant.groupId},SNOM,8100003,0004.1300.0001`,
          `00000000-0000-4000-8000-000000000000,PGSM,8100004,`,
        ].join("\n"),
      );
      expect(result.status).toBe(400);
      const paths = (result.json as Problem).errors?.map((e) => e.path);
      expect(paths).toEqual(
        expect.arrayContaining(["rows[2].username", "rows[4].macAddress", "rows[5].groupId"]),
      );
      expect(await counts()).toEqual(before);
    });

    it("refuses files that are not account CSV: unknown or missing columns, no rows, wrong media type", async () => {
      const before = await counts();
      const unknown = await importCsv(`groupId,type,colour\n${tenant.groupId},PGSM,red\n`);
      expect(unknown.status).toBe(400);
      expect((unknown.json as Problem).errors?.[0]?.message).toMatch(/unknown column "colour"/);
      const missing = await importCsv(`type,username\nPGSM,8200001\n`);
      expect((missing.json as Problem).errors?.map((e) => e.message)).toContain(
        'column "groupId" is required',
      );
      const empty = await importCsv("groupId,type\n");
      expect(empty.status).toBe(400);
      const ragged = await importCsv(`groupId,type\n${tenant.groupId},PGSM,extra\n`);
      expect(ragged.status).toBe(400);
      const json = await op.call("POST", "/api/v1/accounts/import", { groupId: tenant.groupId });
      expect(json.status).toBe(415);
      expect(await counts()).toEqual(before);
    });

    it("creates every row of a valid file in one go, as batch accounts, with the passwords shown once", async () => {
      const csv = [
        "groupId,type,username,password,displayName,phoneNumber,macAddress",
        `${tenant.groupId},PGSM,8300001,Given-pass-01,"Doe, Jane",+41446681810,`,
        `${tenant.subGroupId},PGSM,,,Generated,,`,
        `${tenant.groupId},SNOM,8300003,,Desk,,00-04-13-AA-00-03`,
      ].join("\r\n");
      const result = await importCsv(csv);
      expect(result.status, result.text).toBe(201);
      const body = result.json as ImportResult;
      expect(body.created).toBe(3);
      expect(body.accounts[0]).toMatchObject({
        username: "8300001",
        password: "Given-pass-01",
        sipDomain: tenant.sipDomain,
      });
      expect(body.accounts[1]?.username).toMatch(/^[0-9]{10}$/);
      const row = await knex()("accounts").where({ id: body.accounts[1]?.id }).first();
      const ha1 = createHash("md5")
        .update(`${row.username}:${tenant.sipDomain}:${body.accounts[1]?.password}`)
        .digest("hex");
      expect(row.ha1_md5).toBe(ha1);
      const snom = await op.ok<AccountBody & { mode: string }>(
        "GET",
        `/api/v1/accounts/${body.accounts[2]?.id}`,
      );
      expect(snom).toMatchObject({
        mode: "batch",
        status: "active",
        macAddress: "000413AA0003",
        displayName: "Desk",
      });
      const first = await op.ok<AccountBody>("GET", `/api/v1/accounts/${body.accounts[0]?.id}`);
      expect(first.displayName).toBe("Doe, Jane");
    });
  });

  describe("lists", () => {
    let listTenant: Tenant;
    const made: Record<string, AccountBody> = {};

    beforeAll(async () => {
      listTenant = await createTenant(op);
      const create = (body: Record<string, unknown>) =>
        op.ok<AccountBody>("POST", "/api/v1/accounts", {
          groupId: listTenant.groupId,
          type: "PGSM",
          ...body,
        });
      made.anna = await create({
        username: "9100001",
        displayName: "Anna Muster",
        phoneNumber: "+41446681820",
      });
      made.bruno = await create({ username: "9100002", displayName: "Bruno Beispiel" });
      made.carla = await create({
        username: "9200003",
        displayName: "Carla Muster",
        groupId: listTenant.subGroupId,
        mode: "wizard",
        phoneNumber: "+41446681821",
      });
      made.desk = await create({
        username: "9300004",
        type: "SNOM",
        macAddress: "00:04:13:77:88:99",
        displayName: "=HYPERLINK()",
      });
      await op.ok("POST", `/api/v1/accounts/${made.bruno?.id}/disable`, { reason: "left" }, 200);
    });

    const names = (page: Page<AccountBody>) => page.items.map((a) => a.username);
    const list = (query: string) =>
      op.ok<Page<AccountBody>>(
        "GET",
        `/api/v1/accounts?organisationId=${listTenant.organisationId}&${query}`,
      );

    it("filters by status, type and group, with or without sub-groups", async () => {
      expect(names(await list("status=active"))).toEqual(["9100001", "9300004"]);
      expect(names(await list("status=disabled"))).toEqual(["9100002"]);
      expect(names(await list("status=pending_activation"))).toEqual(["9200003"]);
      expect(names(await list("type=SNOM"))).toEqual(["9300004"]);
      expect(names(await list(`groupId=${listTenant.groupId}`))).toEqual([
        "9100001",
        "9100002",
        "9200003",
        "9300004",
      ]);
      expect(names(await list(`groupId=${listTenant.groupId}&includeSubgroups=false`))).toEqual([
        "9100001",
        "9100002",
        "9300004",
      ]);
    });

    it("searches usernames, display-name words, phone numbers and MACs by prefix", async () => {
      expect(names(await list("q=91000"))).toEqual(["9100001", "9100002"]);
      expect(names(await list("q=muster"))).toEqual(["9100001", "9200003"]);
      expect(names(await list("q=Carl"))).toEqual(["9200003"]);
      expect(names(await list("q=%2B4144668182"))).toEqual(["9100001", "9200003"]);
      expect(names(await list("q=0041446681821"))).toEqual(["9200003"]);
      expect(names(await list("q=00:04:13:77"))).toEqual(["9300004"]);
      expect(names(await list("q=nobody"))).toEqual([]);
      expect(names(await list("q=%25"))).toEqual([]);
    });

    it("sorts and pages, with the total of the whole filtered list", async () => {
      const sorted = await list("sort=-displayName");
      expect(sorted.items.map((a) => a.displayName)).toEqual([
        "Carla Muster",
        "Bruno Beispiel",
        "Anna Muster",
        "=HYPERLINK()",
      ]);
      const page2 = await list("sort=username&pageSize=3&page=2");
      expect(page2).toMatchObject({ page: 2, pageSize: 3, total: 4 });
      expect(names(page2)).toEqual(["9300004"]);
      const bad = await op.call("GET", "/api/v1/accounts?sort=password");
      expect(bad.status).toBe(400);
      expect((bad.json as Problem).errors?.[0]?.path).toBe("query.sort");
      expect((await op.call("GET", "/api/v1/accounts?pageSize=501")).status).toBe(400);
      expect((await op.call("GET", "/api/v1/accounts?status=gone")).status).toBe(400);
    });

    it("exports the same filter as CSV, with formula-like cells defused", async () => {
      const csv = await op.call(
        "GET",
        `/api/v1/accounts.csv?organisationId=${listTenant.organisationId}&q=9`,
      );
      expect(csv.status).toBe(200);
      expect(csv.headers.get("content-type")).toContain("text/csv");
      const lines = csv.text.trim().split("\r\n");
      expect(lines[0]).toBe(
        "id,groupId,type,mode,status,username,sipDomain,displayName,phoneNumber,macAddress,profileId,licenseKey,disabledReason,createdAt,groupReference,securityModel,keepAliveSeconds,notes,billingPlan,renewsOn,subscriptionState,dueSoon,renewedWithoutNotice",
      );
      expect(lines).toHaveLength(5);
      expect(csv.text).toContain("'=HYPERLINK()");
      const disabled = await op.call(
        "GET",
        `/api/v1/accounts.csv?organisationId=${listTenant.organisationId}&status=disabled`,
      );
      expect(disabled.text.trim().split("\r\n")).toHaveLength(2);
      expect(disabled.text).toContain(",left,");
    });

    it("shows a company admin of another organisation none of it, and answers 404 for its ids", async () => {
      const other = await createTenant(op);
      const user = await op.ok<{ id: string }>("POST", "/api/v1/users", {
        email: `admin-${process.pid}@other.example`,
        name: "Other admin",
        role: "company_admin",
        organisationId: other.organisationId,
      });
      const token = await op.ok<{ token: string }>("POST", `/api/v1/users/${user.id}/tokens`, {});
      const stranger = apiClient(t.url, token.token);
      const page = await stranger.ok<Page<AccountBody>>("GET", "/api/v1/accounts");
      expect(page.total).toBe(0);
      const id = made.anna?.id;
      expect((await stranger.call("GET", `/api/v1/accounts/${id}`)).status).toBe(404);
      expect(
        (await stranger.call("PATCH", `/api/v1/accounts/${id}`, { displayName: "Hijacked" })).status,
      ).toBe(404);
      expect((await stranger.call("POST", `/api/v1/accounts/${id}/disable`, { reason: "x" })).status).toBe(
        404,
      );
      expect((await stranger.call("DELETE", `/api/v1/accounts/${id}`)).status).toBe(404);
      const moved = await stranger.call("POST", "/api/v1/accounts", {
        groupId: listTenant.groupId,
        type: "PGSM",
      });
      expect(moved.status).toBe(400);
      expect((moved.json as Problem).errors?.[0]?.path).toBe("body.groupId");
      const profileFromElsewhere = await stranger.call("POST", "/api/v1/accounts", {
        groupId: other.groupId,
        type: "PGSM",
        profileId: listTenant.profileId,
      });
      expect(profileFromElsewhere.status).toBe(400);
      expect((await op.ok<AccountBody>("GET", `/api/v1/accounts/${id}`)).displayName).toBe("Anna Muster");
    });
  });
});
