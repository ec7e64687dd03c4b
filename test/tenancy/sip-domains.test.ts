import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrations } from "../../migrations/index.js";
import type { Problem } from "../accounts/fixtures.js";
import { type ApiClient, apiClient } from "../support/api.js";
import { createTestDatabase, databaseKind } from "../support/database.js";
import { startTestServer, type TestServer } from "../support/server.js";

let seq = 0;
const unique = (prefix: string) => `${prefix}-${process.pid}-${++seq}`;
const domain = () => `${unique("d")}.example.net`;

interface Organisation {
  id: string;
  name: string;
  active: boolean;
  sipDomains: string[];
}

describe(`SIP domains belong to one organisation, on ${databaseKind}`, () => {
  let t: TestServer;
  let op: ApiClient;

  beforeAll(async () => {
    t = await startTestServer();
    op = apiClient(t.url, t.operatorToken);
  });
  afterAll(async () => {
    await t.stop();
  });

  async function companyAdmin(organisationId: string): Promise<ApiClient> {
    const user = await op.ok<{ id: string }>("POST", "/api/v1/users", {
      email: `${unique("admin")}@example.com`,
      name: "Company admin",
      role: "company_admin",
      organisationId,
    });
    const token = await op.ok<{ token: string }>("POST", `/api/v1/users/${user.id}/tokens`, {});
    return apiClient(t.url, token.token);
  }

  const profileBody = (organisationId: string, sipDomain: string) => ({
    organisationId,
    name: unique("Profile"),
    sipDomain,
    serverHost: "sip.example.net",
  });

  it("lets the operator assign domains; a company admin may use only its organisation's", async () => {
    const mine = domain();
    const theirs = domain();
    const free = domain();
    const a = await op.ok<Organisation>("POST", "/api/v1/organisations", {
      name: unique("A"),
      sipDomains: [mine.toUpperCase()],
    });
    expect(a.sipDomains).toEqual([mine]);
    const b = await op.ok<Organisation>("POST", "/api/v1/organisations", {
      name: unique("B"),
      sipDomains: [theirs],
    });
    const adminA = await companyAdmin(a.id);

    const own = await adminA.ok<{ id: string; sipDomain: string }>(
      "POST",
      "/api/v1/profiles",
      profileBody(a.id, mine),
    );
    expect(own.sipDomain).toBe(mine);

    // Another tenant's domain and a domain nobody has answer alike: nothing is learnt about B.
    const answers: Problem[] = [];
    for (const sipDomain of [theirs, free]) {
      const created = await adminA.call("POST", "/api/v1/profiles", profileBody(a.id, sipDomain));
      expect(created.status).toBe(400);
      answers.push(created.json as Problem);
      const edited = await adminA.call("PATCH", `/api/v1/profiles/${own.id}`, { sipDomain });
      expect(edited.status).toBe(400);
      expect((edited.json as Problem).errors?.[0]?.path).toBe("body.sipDomain");
    }
    expect(answers[0]?.errors).toEqual(answers[1]?.errors);
    expect(answers[0]?.errors?.[0]?.path).toBe("body.sipDomain");
    expect(JSON.stringify(answers)).not.toContain(b.id);
    expect((await op.ok<{ sipDomain: string }>("GET", `/api/v1/profiles/${own.id}`)).sipDomain).toBe(mine);
    const profilesOfA = await op.ok<{ total: number }>("GET", `/api/v1/profiles?organisationId=${a.id}`);
    expect(profilesOfA.total).toBe(1);
    // B's domain list did not change either.
    expect((await op.ok<Organisation>("GET", `/api/v1/organisations/${b.id}`)).sipDomains).toEqual([theirs]);
  });

  it("never puts a domain in two organisations", async () => {
    const shared = domain();
    const a = await op.ok<Organisation>("POST", "/api/v1/organisations", {
      name: unique("A"),
      sipDomains: [shared],
    });
    const b = await op.ok<Organisation>("POST", "/api/v1/organisations", { name: unique("B") });

    const created = await op.call("POST", "/api/v1/organisations", {
      name: unique("C"),
      sipDomains: [shared],
    });
    expect(created.status).toBe(409);
    expect((created.json as Problem).detail).toContain("already in use");
    const patched = await op.call("PATCH", `/api/v1/organisations/${b.id}`, { sipDomains: [shared] });
    expect(patched.status).toBe(409);
    expect((patched.json as Problem).detail).toContain("body.sipDomains");
    // Even the operator cannot give B's profile A's domain.
    const profile = await op.call("POST", "/api/v1/profiles", profileBody(b.id, shared));
    expect(profile.status).toBe(409);
    expect((profile.json as Problem).detail).toContain("already in use");

    expect((await op.ok<Organisation>("GET", `/api/v1/organisations/${a.id}`)).sipDomains).toEqual([shared]);
    expect((await op.ok<Organisation>("GET", `/api/v1/organisations/${b.id}`)).sipDomains).toEqual([]);
    const names = await op.ok<{ items: Organisation[] }>("GET", "/api/v1/organisations?pageSize=500");
    expect(names.items.filter((o) => o.name.startsWith("C-"))).toEqual([]);
  });

  it("assigns a free domain to the organisation of an operator's profile, and keeps a used domain", async () => {
    const org = await op.ok<Organisation>("POST", "/api/v1/organisations", { name: unique("Org") });
    const first = domain();
    const profile = await op.ok<{ id: string }>("POST", "/api/v1/profiles", profileBody(org.id, first));
    expect((await op.ok<Organisation>("GET", `/api/v1/organisations/${org.id}`)).sipDomains).toEqual([first]);

    const removed = await op.call("PATCH", `/api/v1/organisations/${org.id}`, { sipDomains: [] });
    expect(removed.status).toBe(409);
    expect((removed.json as Problem).detail).toContain(first);
    expect((await op.ok<Organisation>("GET", `/api/v1/organisations/${org.id}`)).sipDomains).toEqual([first]);

    const second = domain();
    await op.ok("PATCH", `/api/v1/organisations/${org.id}`, { sipDomains: [first, second] });
    await op.ok("PATCH", `/api/v1/profiles/${profile.id}`, { sipDomain: second });
    const after = await op.ok<Organisation>("PATCH", `/api/v1/organisations/${org.id}`, {
      sipDomains: [second],
    });
    expect(after.sipDomains).toEqual([second]);
  });

  it("lets no username into a realm through a profile left on another organisation's domain", async () => {
    // What the domains migration leaves when two organisations used one domain: B's old profile.
    const contested = domain();
    const a = await op.ok<Organisation>("POST", "/api/v1/organisations", {
      name: unique("A"),
      sipDomains: [contested],
    });
    const aProfile = await op.ok<{ id: string }>("POST", "/api/v1/profiles", profileBody(a.id, contested));
    const aGroup = await op.ok<{ id: string }>("POST", "/api/v1/groups", {
      organisationId: a.id,
      name: unique("Group"),
      defaultProfileId: aProfile.id,
    });
    await op.ok("POST", "/api/v1/accounts", { groupId: aGroup.id, type: "PGSM", username: "5550001" });
    const b = await op.ok<Organisation>("POST", "/api/v1/organisations", { name: unique("B") });
    const legacyId = "00000000-0000-4000-8000-00000000beef";
    await t.db.database.knex("profiles").insert({
      id: legacyId,
      organisation_id: b.id,
      name: unique("Legacy"),
      sip_domain: contested,
      server_host: "sip.example.net",
      settings: "{}",
    });
    const bGroup = await op.ok<{ id: string }>("POST", "/api/v1/groups", {
      organisationId: b.id,
      name: unique("Group"),
    });
    const adminB = await companyAdmin(b.id);
    for (const username of ["5550001", "5550002"]) {
      const answer = await adminB.call("POST", "/api/v1/accounts", {
        groupId: bGroup.id,
        type: "PGSM",
        username,
        profileId: legacyId,
      });
      expect(answer.status).toBe(409);
      expect((answer.json as Problem).detail).toContain("not assigned to this organisation");
    }
  });

  it("refuses bad domain lists naming the field, changing nothing", async () => {
    const org = await op.ok<Organisation>("POST", "/api/v1/organisations", { name: unique("Org") });
    for (const sipDomains of [["not a domain"], ["x.example.net", "X.example.net"], "x.example.net"]) {
      const answer = await op.call("PATCH", `/api/v1/organisations/${org.id}`, { sipDomains });
      expect(answer.status, JSON.stringify(sipDomains)).toBe(400);
      expect((answer.json as Problem).errors?.[0]?.path).toMatch(/^body\.sipDomains/);
    }
    expect((await op.ok<Organisation>("GET", `/api/v1/organisations/${org.id}`)).sipDomains).toEqual([]);
    const companyUser = await companyAdmin(org.id);
    const byAdmin = await companyUser.call("PATCH", `/api/v1/organisations/${org.id}`, {
      sipDomains: [domain()],
    });
    expect(byAdmin.status).toBe(403);
  });

  it("says 'already in use' for another tenant's phone number or MAC, naming no one", async () => {
    const tenant = async () => {
      const org = await op.ok<Organisation>("POST", "/api/v1/organisations", { name: unique("Org") });
      const profile = await op.ok<{ id: string }>("POST", "/api/v1/profiles", profileBody(org.id, domain()));
      const group = await op.ok<{ id: string }>("POST", "/api/v1/groups", {
        organisationId: org.id,
        name: unique("Group"),
        defaultProfileId: profile.id,
      });
      return { org, group, admin: await companyAdmin(org.id) };
    };
    const a = await tenant();
    const b = await tenant();
    const phone = `+4144668${String(1000 + (seq % 9000)).padStart(4, "0")}`;
    const taken = await a.admin.ok<{ id: string }>("POST", "/api/v1/accounts", {
      groupId: a.group.id,
      type: "SNOM",
      phoneNumber: phone,
      macAddress: "00:04:13:aa:bb:01",
    });
    for (const [field, value, words] of [
      ["phoneNumber", phone, "this phone number is already in use"],
      ["macAddress", "0004.13AA.BB01", "this MAC address is already in use"],
    ] as const) {
      const clash = await b.admin.call("POST", "/api/v1/accounts", {
        groupId: b.group.id,
        type: "SNOM",
        macAddress: field === "macAddress" ? value : "00:04:13:aa:bb:99",
        ...(field === "phoneNumber" ? { phoneNumber: value } : {}),
      });
      expect(clash.status).toBe(409);
      const detail = (clash.json as Problem).detail;
      expect(detail).toContain(words);
      for (const secret of [taken.id, a.org.id, a.group.id, a.org.name])
        expect(clash.text).not.toContain(secret);
    }
    // The same words inside one tenant.
    const own = await a.admin.call("POST", "/api/v1/accounts", {
      groupId: a.group.id,
      type: "PGSM",
      phoneNumber: phone,
    });
    expect((own.json as Problem).detail).toContain("this phone number is already in use");
  });
});

describe(`the SIP domains migration, on ${databaseKind}`, () => {
  it("gives each organisation its profiles' domains (a contested one to the oldest profile's, audited) and each group its standing", async () => {
    const db = await createTestDatabase({ migrated: false });
    try {
      const knex = db.database.knex;
      const index = migrations.findIndex(([name]) => name === "20261202000500_tenant_domains");
      for (const [, migration] of migrations.slice(0, index)) await migration.up(knex);
      const [older, newer, alone] = ["Older", "Newer", "Alone"].map((name, i) => ({
        id: `00000000-0000-4000-8000-00000000000${i + 1}`,
        name,
      }));
      await knex("organisations").insert([older, newer, alone]);
      const profile = (n: number, organisation_id: string, sip_domain: string, created_at: string) => ({
        id: `00000000-0000-4000-8000-0000000001${String(n).padStart(2, "0")}`,
        organisation_id,
        name: `P${n}`,
        sip_domain,
        server_host: "sip.example.net",
        settings: "{}",
        created_at,
      });
      await knex("profiles").insert([
        profile(1, newer?.id ?? "", "shared.example.net", "2026-02-01T00:00:00Z"),
        profile(2, older?.id ?? "", "shared.example.net", "2026-01-01T00:00:00Z"),
        profile(3, older?.id ?? "", "older.example.net", "2026-01-02T00:00:00Z"),
        profile(4, alone?.id ?? "", "alone.example.net", "2026-03-01T00:00:00Z"),
        profile(5, alone?.id ?? "", "alone.example.net", "2026-03-02T00:00:00Z"),
      ]);
      const group = (n: number, parent_id: string | null, active: boolean) => ({
        id: `00000000-0000-4000-8000-0000000002${String(n).padStart(2, "0")}`,
        organisation_id: older?.id,
        parent_id: parent_id && `00000000-0000-4000-8000-0000000002${parent_id}`,
        name: `G${n}`,
        active,
      });
      await knex("groups").insert([group(1, null, false), group(3, null, true)]);
      await knex("groups").insert([group(2, "01", true), group(4, "03", false)]);
      await knex("groups").insert([group(5, "04", true), group(6, "03", true)]);
      await migrations[index]?.[1].up(knex);

      // A group works only when it and every group above it are active.
      const trees = await knex("groups").orderBy("name").select("name", "tree_active");
      expect(trees).toEqual([
        { name: "G1", tree_active: false },
        { name: "G2", tree_active: false },
        { name: "G3", tree_active: true },
        { name: "G4", tree_active: false },
        { name: "G5", tree_active: false },
        { name: "G6", tree_active: true },
      ]);

      const rows = await knex("organisation_sip_domains")
        .orderBy("sip_domain")
        .select("sip_domain", "organisation_id");
      expect(rows).toEqual([
        { sip_domain: "alone.example.net", organisation_id: alone?.id },
        { sip_domain: "older.example.net", organisation_id: older?.id },
        { sip_domain: "shared.example.net", organisation_id: older?.id },
      ]);
      const contested = await knex("audit_events").where({ action: "organisation.sip_domain_contested" });
      expect(contested).toHaveLength(1);
      expect(contested[0]).toMatchObject({
        target_type: "profile",
        target_id: "00000000-0000-4000-8000-000000000101",
        organisation_id: newer?.id,
        after: { sipDomain: "shared.example.net", assignedTo: older?.id },
      });
    } finally {
      await db.destroy();
    }
  });
});
