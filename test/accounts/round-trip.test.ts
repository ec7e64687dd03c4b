import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiClient, apiClient } from "../support/api.js";
import { databaseKind } from "../support/database.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { type AccountBody, createTenant, type Problem, type Tenant, unique } from "./fixtures.js";

interface ImportResult {
  created: number;
  accounts: Array<{ id: string; username: string; sipDomain: string; password: string }>;
}

/** A CSV line split into cells (quotes as RFC 4180 writes them). */
function cells(line: string, delimiter = ","): string[] {
  const out: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === delimiter) {
      out.push(cell);
      cell = "";
    } else cell += c;
  }
  out.push(cell);
  return out;
}

describe(`the admin API as a portal uses it: CSV round trip, details, messages, on ${databaseKind}`, () => {
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

  const countAccounts = async () =>
    Number(
      (await t.db.database.knex("accounts").whereNull("deleted_at").count<{ n: string }[]>({ n: "*" }))[0]?.n,
    );
  const importCsv = (csv: string, accept?: string) =>
    fetch(`${t.url}/api/v1/accounts/import`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${t.operatorToken}`,
        "content-type": "text/csv",
        ...(accept ? { accept } : {}),
      },
      body: csv,
    });
  const exportCsv = async (query: string) => {
    const response = await fetch(`${t.url}/api/v1/accounts.csv?${query}`, {
      headers: { authorization: `Bearer ${t.operatorToken}` },
    });
    expect(response.status).toBe(200);
    return response.text();
  };

  describe("CSV round trip", () => {
    it("exports every importable field; the file, edited, imports again with the read-only columns ignored", async () => {
      const own = await createTenant(op);
      const profile = await op.ok<{ id: string }>("POST", "/api/v1/profiles", {
        organisationId: own.organisationId,
        name: unique("Second"),
        sipDomain: own.sipDomain,
        serverHost: "sip2.example.net",
      });
      const originals = [
        await op.ok<AccountBody>("POST", "/api/v1/accounts", {
          groupId: own.groupId,
          type: "PGSM",
          username: "5100001",
          displayName: "Doe, Jane",
          phoneNumber: "+41446681850",
          securityModel: "high",
          keepAliveSeconds: 25,
          licenseKey: "LIC-5100001",
          notes: 'said "hello"\nand left',
          profileId: profile.id,
        }),
        await op.ok<AccountBody>("POST", "/api/v1/accounts", {
          groupId: own.subGroupId,
          type: "SNOM",
          username: "5100002",
          displayName: "-minus sign first",
          macAddress: "00:04:13:51:00:02",
        }),
      ];
      const exported = await exportCsv(`groupId=${own.groupId}&sort=username`);
      const [header, ...lines] = exported.trim().split("\r\n");
      const columns = cells(header as string);
      for (const field of [
        "groupId",
        "groupReference",
        "type",
        "username",
        "displayName",
        "phoneNumber",
        "macAddress",
        "securityModel",
        "keepAliveSeconds",
        "profileId",
        "licenseKey",
        "notes",
      ]) {
        expect(columns, field).toContain(field);
      }
      expect(columns).not.toContain("password");
      expect(lines).toHaveLength(2);
      const snapshot = async () =>
        Promise.all(originals.map((a) => op.ok<Record<string, unknown>>("GET", `/api/v1/accounts/${a.id}`)));
      const before = await snapshot();
      // Gone, and then restored from the edited export.
      for (const account of originals) await op.ok("DELETE", `/api/v1/accounts/${account.id}`);
      // The export guards the cell against formulas ('-...); a spreadsheet quotes the edited one.
      expect(exported).toContain(",'-minus sign first,");
      const edited = exported.replace("'-minus sign first", `"'-minus sign, edited"`);
      const result = await importCsv(edited);
      const body = (await result.json()) as ImportResult;
      expect(result.status, JSON.stringify(body)).toBe(201);
      expect(body.created).toBe(2);
      const fields = [
        "groupId",
        "type",
        "username",
        "sipDomain",
        "displayName",
        "phoneNumber",
        "macAddress",
        "securityModel",
        "keepAliveSeconds",
        "profileId",
        "licenseKey",
        "notes",
      ];
      for (const [i, original] of before.entries()) {
        const created = body.accounts.find((a) => a.username === original.username);
        const again = await op.ok<Record<string, unknown>>("GET", `/api/v1/accounts/${created?.id}`);
        for (const field of fields) {
          const expected =
            field === "displayName" && i === 1 ? "-minus sign, edited" : (original[field] as unknown);
          expect(again[field], field).toEqual(expected);
        }
        expect(again.mode).toBe("batch");
        expect(again.id).not.toBe(original.id);
      }
    });

    it("reads ;-separated files and finds a group by its reference", async () => {
      const reference = unique("REF");
      await op.ok("PATCH", `/api/v1/groups/${tenant.subGroupId}`, { reference }, 200);
      const result = await importCsv(
        [
          "groupReference;type;username;displayName",
          `${reference};PGSM;5200001;"Müller; Hans"`,
          `${reference};PGSM;5200002;Rossi`,
        ].join("\r\n"),
      );
      const body = (await result.json()) as ImportResult;
      expect(result.status, JSON.stringify(body)).toBe(201);
      const first = await op.ok<AccountBody>("GET", `/api/v1/accounts/${body.accounts[0]?.id}`);
      expect(first).toMatchObject({
        groupId: tenant.subGroupId,
        displayName: "Müller; Hans",
        username: "5200001",
      });
    });

    it("reports every bad row in one pass, clashes and in-file duplicates included, and creates nothing", async () => {
      await op.ok("POST", "/api/v1/accounts", { groupId: tenant.groupId, type: "PGSM", username: "5300001" });
      const before = await countAccounts();
      const result = await importCsv(
        [
          "groupId,groupReference,type,username,phoneNumber,keepAliveSeconds",
          `${tenant.groupId},,PGSM,5300001,,`, // 2: clashes with a live account
          `${tenant.groupId},,PGSM,53x,,`, // 3: bad username
          `${tenant.groupId},,PGSM,5300004,+41446681860,`, // 4
          `${tenant.groupId},,PGSM,5300005,+41446681860,`, // 5: repeats line 4's number
          `,no-such-reference,PGSM,5300006,,`, // 6: unknown reference
          `${tenant.groupId},,PGSM,5300007,,often`, // 7: not a number
          `,,PGSM,5300008,,`, // 8: no group at all
        ].join("\n"),
      );
      expect(result.status).toBe(400);
      const problem = (await result.json()) as Problem;
      expect(problem.errors).toEqual([
        { path: "rows[2].username", message: "this username is taken in the SIP domain" },
        { path: "rows[3].username", message: "must be 3 to 20 digits" },
        { path: "rows[5].phoneNumber", message: "phone number repeats rows[4].phoneNumber" },
        { path: "rows[6].groupReference", message: "no group has this reference" },
        { path: "rows[7].keepAliveSeconds", message: "must be a number" },
        { path: "rows[8].groupId", message: "is required (or groupReference)" },
      ]);
      expect(await countAccounts()).toBe(before);
    });

    it("answers the credentials sheet as CSV to Accept: text/csv", async () => {
      const result = await importCsv(
        [
          `groupId,type,username,password,displayName`,
          `${tenant.groupId},PGSM,5400001,Sheet-pass-01,"Sheet, One"`,
          `${tenant.groupId},PGSM,,,Two`,
        ].join("\n"),
        "text/csv",
      );
      expect(result.status).toBe(201);
      expect(result.headers.get("content-type")).toMatch(/^text\/csv/);
      const [header, ...lines] = (await result.text()).trim().split("\r\n");
      expect(cells(header as string)).toEqual([
        "line",
        "id",
        "groupId",
        "type",
        "username",
        "sipDomain",
        "password",
        "displayName",
        "phoneNumber",
        "macAddress",
        "provisioningUsername",
        "provisioningPassword",
      ]);
      expect(lines).toHaveLength(2);
      const first = cells(lines[0] as string);
      expect(first[0]).toBe("2");
      expect(first.slice(4, 8)).toEqual(["5400001", tenant.sipDomain, "Sheet-pass-01", "Sheet, One"]);
      const second = cells(lines[1] as string);
      expect(second[4]).toMatch(/^[0-9]{10}$/);
      expect(second[6]).toMatch(/^[A-Za-z0-9]{20}$/);
      // Without Accept: text/csv the answer stays JSON.
      const json = await importCsv(`groupId,type\n${tenant.groupId},PGSM\n`);
      expect(json.headers.get("content-type")).toMatch(/json/);
    });
  });

  describe("account details and messages", () => {
    it("says the right status and why after disable and enable", async () => {
      const account = await op.ok<AccountBody>("POST", "/api/v1/accounts", {
        groupId: tenant.groupId,
        type: "PGSM",
      });
      const reason = async () =>
        await op.ok<{ status: string; statusReason: string }>("GET", `/api/v1/accounts/${account.id}`);
      expect((await reason()).statusReason).toBe("active since it was created (manual)");
      await op.ok("POST", `/api/v1/accounts/${account.id}/disable`, { reason: "lost phone" }, 200);
      expect(await reason()).toMatchObject({ status: "disabled", statusReason: "disabled: lost phone" });
      await op.ok("POST", `/api/v1/accounts/${account.id}/enable`, undefined, 200);
      await op.ok("PATCH", `/api/v1/accounts/${account.id}`, { displayName: "After" }, 200);
      const enabled = await reason();
      expect(enabled.status).toBe("active");
      expect(enabled.statusReason).toMatch(
        /^active: enabled again by operator@localhost at \d{4}-\d\d-\d\dT/,
      );

      const wizard = await op.ok<AccountBody>("POST", "/api/v1/accounts", {
        groupId: tenant.groupId,
        type: "PGSM",
        mode: "wizard",
        phoneNumber: "+41446681870",
      });
      await op.ok("POST", `/api/v1/accounts/${wizard.id}/disable`, { reason: "paused" }, 200);
      await op.ok("POST", `/api/v1/accounts/${wizard.id}/enable`, undefined, 200);
      const pending = await op.ok<{ status: string; statusReason: string }>(
        "GET",
        `/api/v1/accounts/${wizard.id}`,
      );
      expect(pending.status).toBe("pending_activation");
      expect(pending.statusReason).toMatch(
        /^enabled again by operator@localhost at .+, and never activated: it cannot register or call until the app is activated$/,
      );
    });

    it("words validation errors its own way and names the field of a 409", async () => {
      const bad = await op.call("POST", "/api/v1/accounts", {
        type: "PHONE",
        keepAliveSeconds: "30",
        profileId: "nope",
        displayName: "x".repeat(201),
      });
      expect(bad.status).toBe(400);
      expect((bad.json as Problem).errors).toEqual(
        expect.arrayContaining([
          { path: "body.groupId", message: "is required" },
          { path: "body.type", message: "must be one of PGSM, SNOM" },
          { path: "body.keepAliveSeconds", message: "must be a number" },
          { path: "body.profileId", message: "must be a UUID" },
          { path: "body.displayName", message: "must be at most 200 characters" },
        ]),
      );
      await op.ok("POST", "/api/v1/accounts", {
        groupId: tenant.groupId,
        type: "PGSM",
        username: "5500001",
        phoneNumber: "+41446681880",
      });
      const clash = await op.call("POST", "/api/v1/accounts", {
        groupId: tenant.groupId,
        type: "PGSM",
        username: "5500001",
        phoneNumber: "+41446681880",
      });
      expect(clash.status).toBe(409);
      expect((clash.json as Problem).errors?.map((e) => e.path)).toEqual([
        "body.username",
        "body.phoneNumber",
      ]);
      const other = await op.ok<AccountBody>("POST", "/api/v1/accounts", {
        groupId: tenant.groupId,
        type: "PGSM",
      });
      const renamed = await op.call("PATCH", `/api/v1/accounts/${other.id}`, { username: "5500001" });
      expect(renamed.status).toBe(409);
      expect((renamed.json as Problem).errors).toEqual([
        { path: "body.username", message: "this username is taken in the SIP domain" },
      ]);
    });
  });
});
