import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Problem } from "../accounts/fixtures.js";
import { LicenseCheckClient } from "../licensing/license-client.js";
import { type SipTestServer, startSipTestServer } from "../sip/support/accounts.js";
import { TestSipClient } from "../sip/support/client.js";
import { TestRegistrar } from "../sip/support/register.js";
import { type ApiClient, apiClient } from "../support/api.js";
import { databaseKind } from "../support/database.js";

let seq = 0;
const unique = (prefix: string) => `${prefix}-${process.pid}-${++seq}`;
let nextUsername = 4000;

describe(`inactive organisations and groups, on ${databaseKind}`, () => {
  let t: SipTestServer;
  let op: ApiClient;
  let organisationId: string;
  const clients: TestSipClient[] = [];

  beforeAll(async () => {
    t = await startSipTestServer();
    op = t.api;
    organisationId = (await op.ok<{ organisationId: string }>("GET", `/api/v1/groups/${t.groupId}`))
      .organisationId;
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await t?.stop();
  });

  const setActive = (kind: "organisations" | "groups", id: string, active: boolean) =>
    op.ok("PATCH", `/api/v1/${kind}/${id}`, { active });

  async function subGroup(parentId = t.groupId): Promise<string> {
    return (await op.ok<{ id: string }>("POST", "/api/v1/groups", { parentId, name: unique("Sub") })).id;
  }

  async function account(groupId: string) {
    const username = String(nextUsername++);
    const password = `password-${username}`;
    const id = await t.createAccount(username, password, { groupId, licenseKey: unique("LIC") });
    const client = await TestSipClient.udp(t.udp);
    clients.push(client);
    return { id, username, password, ua: new TestRegistrar(client, username, password, t.sipDomain) };
  }

  const registrations = async (accountId: string) =>
    (await op.ok<{ registrations: unknown[] }>("GET", `/api/v1/accounts/${accountId}`)).registrations;
  const accountStatus = async (accountId: string) =>
    op.ok<{ status: string; disabledReason: string | null }>("GET", `/api/v1/accounts/${accountId}`);
  const warning = (response: { headers: { getAll(name: string): string[] } }) =>
    response.headers.getAll("warning").join(" ");

  async function tokenFor(body: Record<string, unknown>): Promise<ApiClient> {
    const user = await op.ok<{ id: string }>("POST", "/api/v1/users", {
      email: `${unique("user")}@example.com`,
      name: "Portal user",
      ...body,
    });
    const token = await op.ok<{ token: string }>("POST", `/api/v1/users/${user.id}/tokens`, {});
    return apiClient(t.url, token.token);
  }

  it("refuses the tokens of an inactive organisation's users until it is active again", async () => {
    const companyAdmin = await tokenFor({ role: "company_admin", organisationId });
    const groupAdmin = await tokenFor({ role: "group_admin", groupId: t.groupId });
    for (const client of [companyAdmin, groupAdmin])
      expect((await client.call("GET", "/api/v1/me")).status).toBe(200);

    await setActive("organisations", organisationId, false);
    try {
      for (const client of [companyAdmin, groupAdmin]) {
        const refused = await client.call("GET", "/api/v1/accounts");
        expect(refused.status).toBe(401);
      }
      // The operator is nobody's tenant.
      expect((await op.call("GET", "/api/v1/me")).status).toBe(200);
    } finally {
      await setActive("organisations", organisationId, true);
    }
    for (const client of [companyAdmin, groupAdmin])
      expect((await client.call("GET", "/api/v1/me")).status).toBe(200);
  });

  it("creates, imports or moves no account into an inactive organisation, group or sub-group (409)", async () => {
    const parent = await subGroup();
    const child = await subGroup(parent);
    const elsewhere = await subGroup();
    const movable = await account(elsewhere);
    const count = async () => (await op.ok<{ total: number }>("GET", "/api/v1/accounts?pageSize=1")).total;
    const before = await count();

    await setActive("groups", parent, false);
    for (const groupId of [parent, child]) {
      const created = await op.call("POST", "/api/v1/accounts", { groupId, type: "PGSM" });
      expect(created.status).toBe(409);
      expect((created.json as Problem).detail).toMatch(/body\.groupId: .*inactive/);
      const imported = await op.call(
        "POST",
        "/api/v1/accounts/import",
        `groupId,type\n${elsewhere},PGSM\n${groupId},PGSM\n`,
        "text/csv",
      );
      expect(imported.status).toBe(409);
      expect((imported.json as Problem).detail).toContain("rows[3].groupId");
    }
    const moved = await op.call("PATCH", `/api/v1/accounts/${movable.id}`, { groupId: child });
    expect(moved.status).toBe(409);
    expect((await op.ok<{ groupId: string }>("GET", `/api/v1/accounts/${movable.id}`)).groupId).toBe(
      elsewhere,
    );
    await setActive("groups", parent, true);

    await setActive("organisations", organisationId, false);
    const inInactiveOrganisation = await op.call("POST", "/api/v1/accounts", {
      groupId: elsewhere,
      type: "PGSM",
    });
    expect(inInactiveOrganisation.status).toBe(409);
    expect((inInactiveOrganisation.json as Problem).detail).toContain("organisation is inactive");
    await setActive("organisations", organisationId, true);

    expect(await count()).toBe(before);
    expect((await op.call("POST", "/api/v1/accounts", { groupId: child, type: "PGSM" })).status).toBe(201);
  });

  it("an inactive group stops the accounts of its subtree at once; reactivating restores each one's own state", async () => {
    const parent = await subGroup();
    const child = await subGroup(parent);
    const working = await account(child);
    const disabledOnItsOwn = await account(child);
    expect((await working.ua.register()).status).toBe(200);
    expect(await registrations(working.id)).toHaveLength(1);

    await setActive("groups", parent, false);
    // Dropped by the time the change is answered.
    expect(await registrations(working.id)).toEqual([]);
    const refused = await working.ua.register();
    expect(refused.status).toBe(403);
    expect(warning(refused)).toContain("its group is inactive");
    // The account's own status is untouched: it was never disabled itself.
    expect(await accountStatus(working.id)).toMatchObject({ status: "active", disabledReason: null });

    await op.ok("POST", `/api/v1/accounts/${disabledOnItsOwn.id}/disable`, { reason: "phone lost" }, 200);
    await setActive("groups", parent, true);

    expect((await working.ua.register()).status).toBe(200);
    const stillDisabled = await disabledOnItsOwn.ua.register();
    expect(stillDisabled.status).toBe(403);
    expect(warning(stillDisabled)).toContain("phone lost");
    expect(await accountStatus(disabledOnItsOwn.id)).toMatchObject({
      status: "disabled",
      disabledReason: "phone lost",
    });
  });

  it("a group moved under an inactive group stops at once, and works again when moved out", async () => {
    const inactiveParent = await subGroup();
    await setActive("groups", inactiveParent, false);
    const moving = await subGroup();
    const below = await subGroup(moving);
    const member = await account(below);
    expect((await member.ua.register()).status).toBe(200);

    await op.ok("PATCH", `/api/v1/groups/${moving}`, { parentId: inactiveParent });
    expect(await registrations(member.id)).toEqual([]);
    const refused = await member.ua.register();
    expect(refused.status).toBe(403);
    expect(warning(refused)).toContain("its group is inactive");
    // A sub-group made under an inactive group takes no accounts either.
    const newcomer = await subGroup(inactiveParent);
    expect((await op.call("POST", "/api/v1/accounts", { groupId: newcomer, type: "PGSM" })).status).toBe(409);

    await op.ok("PATCH", `/api/v1/groups/${moving}`, { parentId: t.groupId });
    expect((await member.ua.register()).status).toBe(200);
  });

  it("an inactive organisation stops its accounts' registrations and license checks, saying why", async () => {
    const groupId = await subGroup();
    const member = await account(groupId);
    expect((await member.ua.register()).status).toBe(200);
    const license = new LicenseCheckClient(t.url, member.username, member.password, t.sipDomain, "MD5");
    // No vendor is configured: an account that may check gets as far as 503.
    expect((await license.check()).status).toBe(503);

    await setActive("organisations", organisationId, false);
    try {
      expect(await registrations(member.id)).toEqual([]);
      const refused = await member.ua.register();
      expect(refused.status).toBe(403);
      expect(warning(refused)).toContain("its organisation is inactive");
      const check = await license.check();
      expect(check.status).toBe(403);
      expect(String(check.json.detail)).toContain("its organisation is inactive");
    } finally {
      await setActive("organisations", organisationId, true);
    }
    expect((await member.ua.register()).status).toBe(200);
    expect((await license.check()).status).toBe(503);
  });
});
