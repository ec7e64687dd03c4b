import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LicenseCheckClient } from "../licensing/license-client.js";
import { type SipTestServer, startSipTestServer } from "../sip/support/accounts.js";
import { TestSipClient } from "../sip/support/client.js";
import { TestRegistrar } from "../sip/support/register.js";
import { type ApiClient, apiClient } from "../support/api.js";
import { databaseKind } from "../support/database.js";
import type { Problem } from "./fixtures.js";

let seq = 0;
const unique = (prefix: string) => `${prefix}-${process.pid}-${++seq}`;
let nextUsername = 6100;

interface Account {
  id: string;
  groupId: string;
  username: string;
  sipDomain: string;
  profileId: string | null;
  status: string;
}
interface AuditEvent {
  action: string;
  groupId: string | null;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

describe(`moving an account to another group, on ${databaseKind}`, () => {
  let t: SipTestServer;
  let op: ApiClient;
  const clients: TestSipClient[] = [];
  const otherDomain = "moved.example.net";
  let otherProfile: string;

  beforeAll(async () => {
    t = await startSipTestServer();
    op = t.api;
    const org = await op.ok<{ sipDomains: string[] }>("GET", `/api/v1/organisations/${t.organisationId}`);
    await op.ok("PATCH", `/api/v1/organisations/${t.organisationId}`, {
      sipDomains: [...org.sipDomains, otherDomain],
    });
    otherProfile = (
      await op.ok<{ id: string }>("POST", "/api/v1/profiles", {
        organisationId: t.organisationId,
        name: unique("Other profile"),
        sipDomain: otherDomain,
        serverHost: "127.0.0.1",
      })
    ).id;
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await t?.stop();
  });

  const group = async (body: Record<string, unknown> = {}) =>
    (
      await op.ok<{ id: string }>("POST", "/api/v1/groups", {
        parentId: t.groupId,
        name: unique("Group"),
        ...body,
      })
    ).id;
  const setGroupActive = (id: string, active: boolean) => op.ok("PATCH", `/api/v1/groups/${id}`, { active });
  const read = (id: string) => op.ok<Account>("GET", `/api/v1/accounts/${id}`);
  const move = (client: ApiClient, id: string, groupId: unknown) =>
    client.call("POST", `/api/v1/accounts/${id}/move`, { groupId });
  const moves = async (id: string) =>
    (await op.ok<{ items: AuditEvent[] }>("GET", `/api/v1/accounts/${id}/events?action=account.moved`)).items;

  async function account(groupId: string, extra: Record<string, unknown> = {}) {
    const username = String(nextUsername++);
    const password = `password-${username}`;
    const id = await t.createAccount(username, password, { groupId, licenseKey: unique("LIC"), ...extra });
    const client = await TestSipClient.udp(t.udp);
    clients.push(client);
    return {
      id,
      username,
      password,
      ua: (domain = t.sipDomain) => new TestRegistrar(client, username, password, domain),
      license: () => new LicenseCheckClient(t.url, username, password, t.sipDomain, "MD5"),
    };
  }

  async function tokenFor(body: Record<string, unknown>): Promise<ApiClient> {
    const user = await op.ok<{ id: string }>("POST", "/api/v1/users", {
      email: `${unique("user")}@example.com`,
      name: "Portal user",
      ...body,
    });
    const token = await op.ok<{ token: string }>("POST", `/api/v1/users/${user.id}/tokens`, {});
    return apiClient(t.url, token.token);
  }

  it("keeps the account's identity and records its own audited action", async () => {
    const from = await group();
    const to = await group();
    const phone = await account(from);
    expect((await phone.ua().register()).status).toBe(200);
    const before = await read(phone.id);

    const moved = await op.ok<Account>("POST", `/api/v1/accounts/${phone.id}/move`, { groupId: to }, 200);
    expect(moved).toMatchObject({
      id: phone.id,
      groupId: to,
      username: before.username,
      sipDomain: before.sipDomain,
      profileId: null,
      status: before.status,
    });
    // Same credentials, still registered: nothing about the device changed.
    expect(
      (await op.ok<{ registrations: unknown[] }>("GET", `/api/v1/accounts/${phone.id}`)).registrations,
    ).toHaveLength(1);
    expect((await phone.ua().register()).status).toBe(200);

    const events = await moves(phone.id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      action: "account.moved",
      groupId: to,
      before: { groupId: from },
      after: { groupId: to },
    });
    // Moving to where it is changes nothing and records nothing.
    expect((await move(op, phone.id, to)).status).toBe(200);
    expect(await moves(phone.id)).toHaveLength(1);
  });

  it("follows the new group's default profile unless it has its own", async () => {
    const from = await group();
    const elsewhere = await group({ defaultProfileId: otherProfile });
    const follower = await account(from);
    const ownProfile = await account(from, { profileId: t.profileId });

    const followed = await op.ok<Account>(
      "POST",
      `/api/v1/accounts/${follower.id}/move`,
      { groupId: elsewhere },
      200,
    );
    expect(followed).toMatchObject({ groupId: elsewhere, profileId: null, sipDomain: otherDomain });
    // Its credentials work in the new realm (HA1s recomputed), and no longer in the old one.
    expect((await follower.ua(otherDomain).register()).status).toBe(200);
    expect((await follower.ua().register()).status).not.toBe(200);

    const kept = await op.ok<Account>(
      "POST",
      `/api/v1/accounts/${ownProfile.id}/move`,
      { groupId: elsewhere },
      200,
    );
    expect(kept).toMatchObject({ groupId: elsewhere, profileId: t.profileId, sipDomain: t.sipDomain });
    expect((await ownProfile.ua().register()).status).toBe(200);

    // A group without a default cannot take an account that relies on one.
    const noDefault = (
      await op.ok<{ id: string }>("POST", "/api/v1/groups", {
        organisationId: t.organisationId,
        name: unique("No default"),
      })
    ).id;
    const refused = await move(op, follower.id, noDefault);
    expect(refused.status).toBe(409);
    expect((refused.json as Problem).detail).toContain("body.groupId");
    expect((await read(follower.id)).groupId).toBe(elsewhere);
  });

  it("registers and checks its license according to its new group's state, at once", async () => {
    const a = await group();
    const b = await group();
    const phone = await account(a);
    expect((await phone.ua().register()).status).toBe(200);
    expect((await phone.license().check()).status).toBe(503); // no vendor configured: got that far

    await setGroupActive(a, false);
    const refused = await phone.ua().register();
    expect(refused.status).toBe(403);
    expect((await phone.license().check()).status).toBe(403);

    // Out of the inactive group: usable on the very next request (the cached standing is dropped).
    await op.ok("POST", `/api/v1/accounts/${phone.id}/move`, { groupId: b }, 200);
    expect((await phone.ua().register()).status).toBe(200);
    expect((await phone.license().check()).status).toBe(503);

    // Back into the inactive group is refused, as creating there is; it stays where it works.
    const back = await move(op, phone.id, a);
    expect(back.status).toBe(409);
    expect((await read(phone.id)).groupId).toBe(b);

    // Its new group decides from now on: deactivating it stops the account, reactivating restores it.
    await setGroupActive(b, false);
    expect((await phone.ua().register()).status).toBe(403);
    expect((await phone.license().check()).status).toBe(403);
    await setGroupActive(b, true);
    expect((await phone.ua().register()).status).toBe(200);

    await setGroupActive(a, true);
    await op.ok("POST", `/api/v1/accounts/${phone.id}/move`, { groupId: a }, 200);
    expect((await phone.ua().register()).status).toBe(200);
  });

  it("lets a group admin move only between its own groups; a supervisor not at all", async () => {
    const mine = await group();
    const alsoMine = await group();
    const notMine = await group();
    const admin = await tokenFor({ role: "group_admin", groupId: mine });
    const supervisor = await tokenFor({ role: "group_supervisor", groupId: mine });
    const current = await op.ok<{ userIds: string[] }>("GET", `/api/v1/groups/${alsoMine}/members`);
    const me = await admin.ok<{ userId: string }>("GET", "/api/v1/me");
    await op.ok("PUT", `/api/v1/groups/${alsoMine}/members`, { userIds: [...current.userIds, me.userId] });

    const phone = await account(mine);
    const foreign = await account(notMine);
    expect((await move(supervisor, phone.id, alsoMine)).status).toBe(403);
    expect((await move(admin, phone.id, notMine)).status).toBe(404);
    expect((await read(phone.id)).groupId).toBe(mine);
    expect((await move(admin, foreign.id, mine)).status).toBe(404);
    expect((await read(foreign.id)).groupId).toBe(notMine);

    const moved = await admin.ok<Account>(
      "POST",
      `/api/v1/accounts/${phone.id}/move`,
      { groupId: alsoMine },
      200,
    );
    expect(moved.groupId).toBe(alsoMine);
  });

  it("refuses another organisation's group (404) and bad input, changing nothing", async () => {
    const from = await group();
    const phone = await account(from);
    const otherOrg = await op.ok<{ id: string }>("POST", "/api/v1/organisations", {
      name: unique("Other org"),
    });
    const foreignGroup = (
      await op.ok<{ id: string }>("POST", "/api/v1/groups", {
        organisationId: otherOrg.id,
        name: unique("Theirs"),
      })
    ).id;
    const otherCompany = await tokenFor({ role: "company_admin", organisationId: otherOrg.id });

    const foreign = await move(op, phone.id, foreignGroup);
    expect(foreign.status).toBe(404);
    expect((foreign.json as Problem).detail).toContain("body.groupId");
    expect((await move(otherCompany, phone.id, foreignGroup)).status).toBe(404);
    expect((await move(op, phone.id, crypto.randomUUID())).status).toBe(404);

    const bad: Array<[unknown, string]> = [
      [{}, "body.groupId"],
      [{ groupId: "group-1" }, "body.groupId"],
      [{ groupId: 7 }, "body.groupId"],
      [{ groupId: from, profileId: null }, "body"],
    ];
    for (const [body, path] of bad) {
      const refused = await op.call("POST", `/api/v1/accounts/${phone.id}/move`, body);
      expect(refused.status, refused.text).toBe(400);
      expect(JSON.stringify((refused.json as Problem).errors)).toContain(path);
    }
    expect((await op.call("POST", "/api/v1/accounts/not-an-id/move", { groupId: from })).status).toBe(400);
    expect((await read(phone.id)).groupId).toBe(from);
    expect(await moves(phone.id)).toHaveLength(0);
  });
});
