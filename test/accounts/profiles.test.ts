import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiClient, apiClient } from "../support/api.js";
import { databaseKind } from "../support/database.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { type AccountBody, createTenant, type Problem, unique } from "./fixtures.js";

interface ProfileBody {
  id: string;
  organisationId: string;
  name: string;
  sipDomain: string;
  transports: Record<string, { enabled: boolean; port: number }>;
  codecs: string[];
  licenseMode: string;
  registrationExpirySeconds: number;
  announcementLanguage: string;
  srtp: string;
}

describe(`provisioning profiles on ${databaseKind}`, () => {
  let t: TestServer;
  let op: ApiClient;
  let organisationId: string;

  beforeAll(async () => {
    t = await startTestServer();
    op = apiClient(t.url, t.operatorToken);
    organisationId = (await op.ok<{ id: string }>("POST", "/api/v1/organisations", { name: unique("Org") }))
      .id;
  });
  afterAll(async () => {
    await t.stop();
  });

  const create = (body: Record<string, unknown>) =>
    op.call("POST", "/api/v1/profiles", {
      organisationId,
      name: unique("Profile"),
      sipDomain: "voice.example.org",
      serverHost: "sip.example.org",
      ...body,
    });

  it("creates a working profile from defaults and keeps what is given", async () => {
    const result = await create({
      codecs: ["PCMA", "opus"],
      licenseMode: "direct",
      announcementLanguage: "fr",
    });
    expect(result.status).toBe(201);
    const profile = result.json as ProfileBody;
    expect(profile.transports.udp).toEqual({ enabled: true, port: 5060 });
    expect(profile.transports.tls).toEqual({ enabled: false, port: 5061 });
    expect(profile.codecs).toEqual(["PCMA", "opus"]);
    expect(profile).toMatchObject({
      licenseMode: "direct",
      announcementLanguage: "fr",
      registrationExpirySeconds: 3600,
    });
  });

  it("refuses bad settings naming the field, and stores nothing", async () => {
    const [before] = await t.db.database.knex("profiles").count<{ n: string }[]>({ n: "*" });
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ sipDomain: "not a domain" }, "body.sipDomain"],
      [{ codecs: ["PCMA", "PCMA"] }, "body.codecs"],
      [{ codecs: ["AMR"] }, "body.codecs.0"],
      [{ announcementLanguage: "nl" }, "body.announcementLanguage"],
      [{ registrationExpirySeconds: 10 }, "body.registrationExpirySeconds"],
      [{ transports: { udp: { enabled: false }, tcp: { enabled: false } } }, "body.transports"],
      [{ tlsRequired: true }, "body.tlsRequired"],
      [{ transports: { sctp: { enabled: true } } }, "body.transports"],
      [{ organisationId: "00000000-0000-4000-8000-000000000000" }, "body.organisationId"],
    ];
    for (const [body, path] of cases) {
      const result = await create(body);
      expect(result.status, JSON.stringify(body)).toBe(400);
      const paths = (result.json as Problem).errors?.map((e) => e.path) ?? [];
      expect(paths, JSON.stringify(body)).toContain(path);
    }
    const [after] = await t.db.database.knex("profiles").count<{ n: string }[]>({ n: "*" });
    expect(after?.n).toEqual(before?.n);
  });

  it("refuses a second profile of the same name in the organisation (409)", async () => {
    const name = unique("Twin");
    expect((await create({ name })).status).toBe(201);
    const again = await create({ name: name.toUpperCase() });
    expect(again.status).toBe(409);
  });

  it("changes settings, checks the result whole, and a new SIP domain moves the accounts using it", async () => {
    const tenant = await createTenant(op);
    const account = await op.ok<AccountBody>("POST", "/api/v1/accounts", {
      groupId: tenant.groupId,
      type: "PGSM",
      password: "Domain-move-1",
    });
    const refused = await op.call("PATCH", `/api/v1/profiles/${tenant.profileId}`, { tlsRequired: true });
    expect(refused.status).toBe(400);
    expect((refused.json as Problem).errors?.map((e) => e.path)).toContain("body.tlsRequired");
    const changed = await op.ok<ProfileBody>(
      "PATCH",
      `/api/v1/profiles/${tenant.profileId}`,
      { sipDomain: "moved.example.org", srtp: "mandatory" },
      200,
    );
    expect(changed).toMatchObject({ sipDomain: "moved.example.org", srtp: "mandatory" });
    const row = await t.db.database.knex("accounts").where({ id: account.id }).first();
    expect(row.sip_domain).toBe("moved.example.org");
    expect(row.ha1_md5).toBe(
      createHash("md5").update(`${account.username}:moved.example.org:Domain-move-1`).digest("hex"),
    );
  });

  it("refuses to delete a profile in use (409) and deletes it once unused", async () => {
    const tenant = await createTenant(op);
    const inUse = await op.call("DELETE", `/api/v1/profiles/${tenant.profileId}`);
    expect(inUse.status).toBe(409);
    expect((inUse.json as Problem).detail).toMatch(/in use/);
    await op.ok("DELETE", `/api/v1/groups/${tenant.subGroupId}`);
    await op.ok("DELETE", `/api/v1/groups/${tenant.groupId}`);
    await op.ok("DELETE", `/api/v1/profiles/${tenant.profileId}`);
    expect((await op.call("GET", `/api/v1/profiles/${tenant.profileId}`)).status).toBe(404);
  });

  it("lets an account choose another profile of its organisation, not one of another", async () => {
    const tenant = await createTenant(op);
    const own = (await create({ sipDomain: "own.example.org" })).json as ProfileBody;
    const stranger = await createTenant(op);
    const account = await op.ok<AccountBody>("POST", "/api/v1/accounts", {
      groupId: tenant.groupId,
      type: "PGSM",
    });
    expect(account.sipDomain).toBe(tenant.sipDomain);
    const refused = await op.call("PATCH", `/api/v1/accounts/${account.id}`, {
      profileId: stranger.profileId,
    });
    expect(refused.status).toBe(400);
    expect((refused.json as Problem).errors?.[0]?.path).toBe("body.profileId");
    const sameOrg = await op.call("PATCH", `/api/v1/accounts/${account.id}`, { profileId: own.id });
    // `own` belongs to another organisation than this tenant's, so it is refused too.
    expect(sameOrg.status).toBe(400);
    const second = await op.ok<ProfileBody>("POST", "/api/v1/profiles", {
      organisationId: tenant.organisationId,
      name: unique("Override"),
      sipDomain: "override.example.org",
      serverHost: "sip.example.org",
    });
    const moved = await op.ok<AccountBody>(
      "PATCH",
      `/api/v1/accounts/${account.id}`,
      { profileId: second.id },
      200,
    );
    expect(moved).toMatchObject({ profileId: second.id, sipDomain: "override.example.org" });
  });
});
