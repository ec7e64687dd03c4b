import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { type ApiClient, apiClient } from "../support/api.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { parseSettingsXml, rawGet, SnomPhoneClient, setting, snomUserAgent } from "./snom-phone.js";

interface Credential {
  username: string;
  password: string;
  realm: string;
  createdAt: string;
}
interface CreatedSnom {
  id: string;
  username: string;
  sipDomain: string;
  password: string;
  macAddress: string;
  provisioningCredential: Credential;
}

const graceSeconds = 3600;
const clock = new ManualClock(new Date("2026-12-03T08:00:00Z"));
let server: TestServer;
let api: ApiClient;
let organisationId: string;
let groupId: string;
let macs = 0;
/** A unicast MAC of snom's range (00:04:13), different for every account of this file. */
const nextMac = () => `000413${String(++macs).padStart(6, "0")}`;

async function createSnom(body: Record<string, unknown> = {}, group = groupId): Promise<CreatedSnom> {
  return api.ok<CreatedSnom>("POST", "/api/v1/accounts", {
    groupId: group,
    type: "SNOM",
    macAddress: nextMac(),
    displayName: `Front desk <&> "Müller's"`,
    ...body,
  });
}

const phoneOf = (
  account: { provisioningCredential: Credential },
  credential = account.provisioningCredential,
) => new SnomPhoneClient(server.url, credential);

beforeAll(async () => {
  server = await startTestServer({ clock, config: { snom: { credentialGraceSeconds: graceSeconds } } });
  api = apiClient(server.url, server.operatorToken);
  organisationId = (await api.ok<{ id: string }>("POST", "/api/v1/organisations", { name: "Snom Org" })).id;
  const profile = await api.ok<{ id: string }>("POST", "/api/v1/profiles", {
    organisationId,
    name: "Desk phones",
    sipDomain: "desk.example.net",
    serverHost: "sip.desk.example.net",
    transports: { tls: { enabled: true, port: 5061 } },
    tlsRequired: true,
    srtp: "mandatory",
    snom: { timezone: "Europe/Zurich", language: "de" },
  });
  groupId = (
    await api.ok<{ id: string }>("POST", "/api/v1/groups", {
      organisationId,
      name: "Reception",
      defaultProfileId: profile.id,
    })
  ).id;
});

afterAll(async () => {
  await server?.stop();
});

describe("SNOM settings XML", () => {
  it("answers the phone's credential with identity 1 from the account and its profile, in both URL forms", async () => {
    const account = await createSnom();
    expect(account.provisioningCredential).toMatchObject({ realm: "provisiond-snom" });
    expect(account.provisioningCredential.username).toMatch(/^snom-[a-z2-9]{10}$/);
    expect(account.provisioningCredential.password).toMatch(/^[A-Za-z2-9]{20}$/);
    const phone = phoneOf(account);

    const byMac = await phone.fetchSettings(`/snom/${account.macAddress}.xml`);
    expect(byMac.status, byMac.text).toBe(200);
    expect(byMac.headers.get("content-type")).toMatch(/^application\/xml/);
    const byModel = await phone.fetchSettings(`/snom760-${account.macAddress}.htm`);
    expect(byModel.status, byModel.text).toBe(200);
    expect(byModel.text).toBe(byMac.text);
    // The lower-case form of the MAC (snom's {mac} placeholder) names the same phone.
    const lower = await phone.fetchSettings(`/snom/${account.macAddress.toLowerCase()}.xml`);
    expect(lower.text).toBe(byMac.text);

    const settings = parseSettingsXml(byMac.text);
    const identity = (name: string) => {
      const entry = setting(settings, name);
      expect(entry.idx, name).toBe("1");
      expect(entry.perm, name).toBe("R");
      return entry.value;
    };
    expect(identity("user_active")).toBe("on");
    expect(identity("user_realname")).toBe(`Front desk <&> "Müller's"`);
    expect(identity("user_name")).toBe(account.username);
    expect(identity("user_pname")).toBe(account.username);
    // The SIP password of the create answer, read back from its encrypted copy.
    expect(identity("user_pass")).toBe(account.password);
    expect(identity("user_host")).toBe("desk.example.net");
    expect(identity("user_outbound")).toBe("sip.desk.example.net:5061;transport=tls");
    expect(identity("user_srtp")).toBe("on");
    expect(identity("user_savp")).toBe("mandatory");
    expect(setting(settings, "setting_server")).toEqual({
      value: `${server.url}/snom/${account.macAddress}.xml`,
      perm: "R",
      idx: undefined,
    });
    expect(setting(settings, "timezone")).toMatchObject({ value: "CHE+1", perm: "RW" });
    expect(setting(settings, "language")).toMatchObject({ value: "Deutsch", perm: "RW" });
    // Markup in a display name is text in the file, escaped by the builder.
    expect(byMac.text).toContain("Front desk &lt;&amp;&gt; &quot;Müller&apos;s&quot;");
    expect(byMac.text).not.toContain("<&>");
  });

  it("follows the profile: UDP without TLS, SRTP off, no time zone or language", async () => {
    const profile = await api.ok<{ id: string }>("POST", "/api/v1/profiles", {
      organisationId,
      name: "Plain",
      sipDomain: "plain.example.net",
      serverHost: "sip.plain.example.net",
      srtp: "disabled",
    });
    const account = await createSnom({ profileId: profile.id, displayName: null });
    const file = await phoneOf(account).fetchSettings(`/snom/${account.macAddress}.xml`);
    const settings = parseSettingsXml(file.text);
    expect(setting(settings, "user_outbound").value).toBe("sip.plain.example.net:5060");
    expect(setting(settings, "user_srtp").value).toBe("off");
    expect(setting(settings, "user_savp").value).toBe("off");
    // Without a display name the phone shows its number.
    expect(setting(settings, "user_realname").value).toBe(account.username);
    expect(settings.has("timezone")).toBe(false);
    expect(settings.has("language")).toBe(false);
  });

  it("gives PGSM accounts no provisioning credential and refuses to make one", async () => {
    const pgsm = await api.ok<Record<string, unknown>>("POST", "/api/v1/accounts", { groupId, type: "PGSM" });
    expect(pgsm.provisioningCredential).toBeUndefined();
    const refused = await api.call("POST", `/api/v1/accounts/${pgsm.id}/provisioning-credential`);
    expect(refused.status).toBe(422);
    expect((refused.json as { detail: string }).detail).toMatch(/only SNOM accounts/);
  });
});

describe("MACs that are not MACs", () => {
  const hostile = [
    "/snom/%3Cscript%3Ealert(1)%3C%2Fscript%3E.xml",
    "/snom/..%2F..%2Fetc%2Fpasswd.xml",
    "/snom/000413000001%00.xml",
    "/snom/00:04:13:00:00:01.xml",
    "/snom760-%3Cb%3E000413000001.htm",
    "/snom%3Cx%3E-000413000001.htm",
    "/snom/&amp;000413.xml",
  ];
  it.each(hostile)("%s is refused before any account is looked up, and not echoed", async (path) => {
    const answer = await rawGet(server.url, path);
    expect([400, 404]).toContain(answer.status);
    expect(answer.body).not.toMatch(/<script|<b>|<x>|[<>]/);
    const problem = JSON.parse(answer.body) as { errors?: Array<{ path: string; message: string }> };
    if (answer.status === 400) expect(problem.errors?.[0]?.path).toMatch(/^params\.(mac|MAC|model)$/);
  });

  it("refuses a request line with raw markup", async () => {
    const answer = await rawGet(server.url, "/snom/<script>.xml");
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(answer.status).toBeLessThan(500);
    expect(answer.body).not.toContain("<script>");
  });
});

describe("knowing a MAC is not enough", () => {
  let account: CreatedSnom;
  let other: CreatedSnom;
  beforeAll(async () => {
    account = await createSnom();
    other = await createSnom();
  });

  /** What a refusal says, without the parts that name the request (its path and id). */
  const refusal = (answer: { status: number; json: Record<string, unknown> | null; headers: Headers }) => {
    const { instance: _instance, requestId: _requestId, ...rest } = answer.json ?? {};
    const challenge = (answer.headers.get("www-authenticate") ?? "").replace(/nonce="[^"]+"/g, 'nonce="-"');
    return { status: answer.status, body: rest, challenge };
  };

  it("answers an unknown MAC, a wrong password and another phone's credential alike", async () => {
    const phone = phoneOf(account);
    const unknownMac = nextMac();
    const unknown = await phone.fetchSettings(`/snom/${unknownMac}.xml`);
    const wrong = await phone.fetchSettings(`/snom/${account.macAddress}.xml`, "not-the-password-at-all");
    const stranger = new SnomPhoneClient(server.url, {
      ...account.provisioningCredential,
      username: "snom-doesnotexist",
    });
    const unknownUser = await stranger.fetchSettings(`/snom/${account.macAddress}.xml`);
    const othersCredential = await phoneOf(other).fetchSettings(`/snom/${account.macAddress}.xml`);
    const anonymous = await phone.raw(`/snom/${unknownMac}.xml`);
    const anonymousKnown = await phone.raw(`/snom/${account.macAddress}.xml`);

    expect(unknown.status).toBe(401);
    const expected = refusal(wrong);
    expect(expected.body).toMatchObject({ status: 401, detail: "invalid credentials" });
    expect(expected.challenge).toContain('realm="provisiond-snom"');
    expect(refusal(unknown)).toEqual(expected);
    expect(refusal(unknownUser)).toEqual(expected);
    expect(refusal(othersCredential)).toEqual(expected);
    expect(refusal(anonymous)).toEqual(refusal(anonymousKnown));
    // Nothing of the settings leaks into a refusal.
    for (const answer of [unknown, wrong, othersCredential, anonymousKnown]) {
      expect(answer.text).not.toContain(account.username);
      expect(answer.text).not.toContain("phone-settings");
    }
  });

  it("blocks a credential after repeated wrong passwords (429), even with the right one", async () => {
    const target = await createSnom();
    const phone = phoneOf(target);
    const path = `/snom/${target.macAddress}.xml`;
    for (let i = 0; i < 10; i++) {
      expect((await phone.fetchSettings(path, `wrong-${i}-password`)).status).toBe(401);
    }
    const blocked = await phone.raw(path, phone.authorization(path, "x".repeat(48)));
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get("retry-after")).toMatch(/^\d+$/);
    clock.advance(301_000);
    expect((await phone.fetchSettings(path)).status).toBe(200);
  });
});

describe("rotation", () => {
  it("makes a new credential and keeps the previous one for the grace period only", async () => {
    const account = await createSnom();
    const path = `/snom/${account.macAddress}.xml`;
    const first = account.provisioningCredential;
    const rotated = await api.ok<Credential & { previousValidUntil: string }>(
      "POST",
      `/api/v1/accounts/${account.id}/provisioning-credential`,
    );
    expect(rotated.username).not.toBe(first.username);
    expect(rotated.password).not.toBe(first.password);
    expect(rotated.previousValidUntil).toBe(
      new Date(clock.now().getTime() + graceSeconds * 1000).toISOString(),
    );

    expect((await phoneOf(account, rotated).fetchSettings(path)).status).toBe(200);
    clock.advance((graceSeconds - 1) * 1000);
    expect((await phoneOf(account, first).fetchSettings(path)).status).toBe(200);
    clock.advance(2000);
    expect((await phoneOf(account, first).fetchSettings(path)).status).toBe(401);
    expect((await phoneOf(account, rotated).fetchSettings(path)).status).toBe(200);

    // Only one previous credential: a second rotation ends the first one's grace at once.
    const third = await api.ok<Credential>("POST", `/api/v1/accounts/${account.id}/provisioning-credential`);
    const fourth = await api.ok<Credential>("POST", `/api/v1/accounts/${account.id}/provisioning-credential`);
    expect((await phoneOf(account, rotated).fetchSettings(path)).status).toBe(401);
    expect((await phoneOf(account, third).fetchSettings(path)).status).toBe(200);
    expect((await phoneOf(account, fourth).fetchSettings(path)).status).toBe(200);

    const details = await api.ok<{ snomProvisioning: { credential: Record<string, unknown> } }>(
      "GET",
      `/api/v1/accounts/${account.id}`,
    );
    expect(details.snomProvisioning.credential).toEqual({
      username: fourth.username,
      createdAt: fourth.createdAt,
      rotatedAt: fourth.createdAt,
      previous: {
        username: third.username,
        validUntil: new Date(Date.parse(fourth.createdAt) + graceSeconds * 1000).toISOString(),
      },
    });
    const audit = await api.ok<{ items: Array<{ action: string; after: unknown }> }>(
      "GET",
      `/api/v1/audit-events?targetId=${account.id}&pageSize=50`,
    );
    const actions = audit.items.map((event) => event.action);
    expect(actions.filter((a) => a === "account.provisioning_credential_rotated")).toHaveLength(3);
    expect(actions).toContain("account.provisioning_credential_created");
    expect(JSON.stringify(audit.items)).not.toContain(fourth.password);
  });

  it("is 404 for an account of another organisation", async () => {
    const otherOrg = await api.ok<{ id: string }>("POST", "/api/v1/organisations", { name: "Elsewhere" });
    const admin = await api.ok<{ id: string }>("POST", "/api/v1/users", {
      email: "admin@elsewhere.example",
      name: "Other admin",
      role: "company_admin",
      organisationId: otherOrg.id,
    });
    const token = await api.ok<{ token: string }>("POST", `/api/v1/users/${admin.id}/tokens`, {});
    const account = await createSnom();
    const answer = await apiClient(server.url, token.token).call(
      "POST",
      `/api/v1/accounts/${account.id}/provisioning-credential`,
    );
    expect(answer.status).toBe(404);
    // The account's credential is untouched.
    expect((await phoneOf(account).fetchSettings(`/snom/${account.macAddress}.xml`)).status).toBe(200);
  });
});

describe("accounts that do not work", () => {
  it("gives a disabled account's phone a file without credentials that says why", async () => {
    const account = await createSnom();
    const path = `/snom/${account.macAddress}.xml`;
    await api.ok("POST", `/api/v1/accounts/${account.id}/disable`, { reason: "unpaid <invoice> & co" }, 200);
    const file = await phoneOf(account).fetchSettings(path);
    expect(file.status).toBe(200);
    const settings = parseSettingsXml(file.text);
    expect(setting(settings, "user_active").value).toBe("off");
    expect(setting(settings, "user_pass").value).toBe("");
    expect(setting(settings, "user_realname").value).toBe("Account disabled: unpaid <invoice> & co");
    expect(file.text).not.toContain(account.password);

    await api.ok("POST", `/api/v1/accounts/${account.id}/enable`, undefined, 200);
    const again = parseSettingsXml((await phoneOf(account).fetchSettings(path)).text);
    expect(setting(again, "user_pass").value).toBe(account.password);
    expect(setting(again, "user_active").value).toBe("on");
  });

  it("treats an account of an inactive group as disabled, and restores it", async () => {
    const group = await api.ok<{ id: string }>("POST", "/api/v1/groups", {
      organisationId,
      name: "Closing branch",
      defaultProfileId: (await api.ok<{ defaultProfileId: string }>("GET", `/api/v1/groups/${groupId}`))
        .defaultProfileId,
    });
    const account = await createSnom({}, group.id);
    const path = `/snom/${account.macAddress}.xml`;
    await api.ok("PATCH", `/api/v1/groups/${group.id}`, { active: false }, 200);
    const settings = parseSettingsXml((await phoneOf(account).fetchSettings(path)).text);
    expect(setting(settings, "user_realname").value).toBe("Account disabled: its group is inactive");
    expect(setting(settings, "user_pass").value).toBe("");
    expect(setting(settings, "user_active").value).toBe("off");

    await api.ok("PATCH", `/api/v1/groups/${group.id}`, { active: true }, 200);
    const restored = parseSettingsXml((await phoneOf(account).fetchSettings(path)).text);
    expect(setting(restored, "user_pass").value).toBe(account.password);
  });

  it("answers a deleted account's phone 404, and a wrong password still 401", async () => {
    const account = await createSnom();
    const path = `/snom/${account.macAddress}.xml`;
    await api.ok("DELETE", `/api/v1/accounts/${account.id}`, undefined, 200);
    const gone = await phoneOf(account).fetchSettings(path);
    expect(gone.status).toBe(404);
    expect(gone.text).not.toContain("phone-settings");
    expect((await phoneOf(account).fetchSettings(path, "a-wrong-password-here")).status).toBe(401);
  });
});

describe("fetches", () => {
  it("records each fetch and shows it in the account details, with no secret", async () => {
    const account = await createSnom();
    const path = `/snom/${account.macAddress}.xml`;
    const firstAt = clock.now().toISOString();
    expect((await phoneOf(account).fetchSettings(path)).status).toBe(200);
    clock.advance(60_000);
    const browser = new SnomPhoneClient(server.url, account.provisioningCredential, {
      userAgent: "curl/8.5.0",
    });
    expect((await browser.fetchSettings(`/snomD785-${account.macAddress}.htm`)).status).toBe(200);
    await api.ok("POST", `/api/v1/accounts/${account.id}/disable`, { reason: "moved out" }, 200);
    clock.advance(60_000);
    expect((await phoneOf(account).fetchSettings(path)).status).toBe(200);

    const answer = await api.call("GET", `/api/v1/accounts/${account.id}`);
    const details = answer.json as {
      snomProvisioning: { credential: Record<string, unknown>; fetches: Array<Record<string, unknown>> };
    };
    expect(details.snomProvisioning.credential).toEqual({
      username: account.provisioningCredential.username,
      createdAt: account.provisioningCredential.createdAt,
      rotatedAt: null,
      previous: null,
    });
    const fetches = details.snomProvisioning.fetches;
    expect(fetches).toHaveLength(3);
    expect(fetches[2]).toEqual({
      fetchedAt: firstAt,
      address: expect.stringMatching(/127\.0\.0\.1$/),
      userAgent: snomUserAgent,
      model: "760",
      firmware: "10.1.54.13",
      outcome: "settings",
    });
    expect(fetches[1]).toMatchObject({
      userAgent: "curl/8.5.0",
      model: null,
      firmware: null,
      outcome: "settings",
    });
    expect(fetches[0]).toMatchObject({ model: "760", outcome: "disabled" });
    expect(answer.text).not.toContain(account.provisioningCredential.password);
    expect(answer.text).not.toContain(account.password);

    // Refused requests are not fetches of this phone.
    await phoneOf(account).fetchSettings(path, "wrong-password-123");
    const after = await api.ok<{ snomProvisioning: { fetches: unknown[] } }>(
      "GET",
      `/api/v1/accounts/${account.id}`,
    );
    expect(after.snomProvisioning.fetches).toHaveLength(3);

    const pgsm = await api.ok<{ id: string }>("POST", "/api/v1/accounts", { groupId, type: "PGSM" });
    const pgsmDetails = await api.ok<{ snomProvisioning: unknown }>("GET", `/api/v1/accounts/${pgsm.id}`);
    expect(pgsmDetails.snomProvisioning).toBeNull();
  });
});

describe("batch import", () => {
  it("makes a credential for each SNOM row and shows it once, in JSON and in the CSV sheet", async () => {
    const [macA, macB] = [nextMac(), nextMac()];
    const csv = `groupId,type,macAddress,displayName\n${groupId},SNOM,${macA},Hall\n${groupId},PGSM,,App\n`;
    const json = await api.call("POST", "/api/v1/accounts/import", csv, "text/csv");
    expect(json.status, json.text).toBe(201);
    const result = json.json as {
      accounts: Array<{ id: string; password: string; provisioningCredential: Credential | null }>;
    };
    const [snomRow, pgsmRow] = result.accounts;
    expect(pgsmRow?.provisioningCredential).toBeNull();
    const credential = snomRow?.provisioningCredential as Credential;
    const file = await new SnomPhoneClient(server.url, credential).fetchSettings(`/snom/${macA}.xml`);
    expect(file.status).toBe(200);
    expect(setting(parseSettingsXml(file.text), "user_pass").value).toBe(snomRow?.password);

    const sheet = await fetch(`${server.url}/api/v1/accounts/import`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${server.operatorToken}`,
        "content-type": "text/csv",
        accept: "text/csv",
      },
      body: `groupId,type,macAddress\n${groupId},SNOM,${macB}\n`,
    });
    expect(sheet.status).toBe(201);
    const [header, row] = (await sheet.text()).trim().split(/\r?\n/);
    const columns = (header as string).split(",");
    const values = (row as string).split(",");
    const username = values[columns.indexOf("provisioningUsername")] as string;
    const password = values[columns.indexOf("provisioningPassword")] as string;
    expect(username).toMatch(/^snom-/);
    const fromSheet = new SnomPhoneClient(server.url, { username, password, realm: "provisiond-snom" });
    expect((await fromSheet.fetchSettings(`/snom/${macB}.xml`)).status).toBe(200);
  });
});
