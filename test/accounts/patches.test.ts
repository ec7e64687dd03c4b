import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiClient, apiClient } from "../support/api.js";
import { databaseKind } from "../support/database.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { type AccountBody, createTenant, type Problem, type Tenant } from "./fixtures.js";

interface ProfileBody {
  id: string;
  name: string;
  updatedAt: string;
  transports: Record<string, { enabled: boolean; port: number; path?: string }>;
  snom: Record<string, string | null>;
  appLinks: Record<string, string | null>;
  codecs: string[];
  srtp: string;
  keepAliveSeconds: number;
}

describe(`PATCH is a merge, and a PATCH that changes nothing writes nothing, on ${databaseKind}`, () => {
  let t: TestServer;
  let op: ApiClient;
  let tenant: Tenant;

  beforeAll(async () => {
    t = await startTestServer();
    op = apiClient(t.url, t.operatorToken);
    tenant = await createTenant(op, {
      transports: { tcp: { enabled: true, port: 5080 }, wss: { enabled: true, port: 8443, path: "/sip" } },
      snom: { firmwareUrl: "https://firmware.example.net/snom.bin", timezone: "Europe/Zurich" },
      appLinks: { ios: "https://apps.example.net/ios", android: "https://apps.example.net/android" },
      codecs: ["PCMA", "opus"],
      keepAliveSeconds: 45,
    });
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
  const profile = () => op.ok<ProfileBody>("GET", `/api/v1/profiles/${tenant.profileId}`);
  const patchProfile = (body: Record<string, unknown>) =>
    op.call("PATCH", `/api/v1/profiles/${tenant.profileId}`, body);

  it("merges one nested setting into a profile and keeps its siblings", async () => {
    const tls = await patchProfile({ transports: { tls: { enabled: true } } });
    expect(tls.status, tls.text).toBe(200);
    const after = tls.json as ProfileBody;
    expect(after.transports).toEqual({
      udp: { enabled: true, port: 5060 },
      tcp: { enabled: true, port: 5080 },
      tls: { enabled: true, port: 5061 },
      wss: { enabled: true, port: 8443, path: "/sip" },
    });
    const snom = (await patchProfile({ snom: { language: "de" } })).json as ProfileBody;
    expect(snom.snom).toEqual({
      firmwareUrl: "https://firmware.example.net/snom.bin",
      timezone: "Europe/Zurich",
      language: "de",
      dialPlan: null,
    });
    expect(snom.codecs).toEqual(["PCMA", "opus"]);
    expect(snom.keepAliveSeconds).toBe(45);
    expect(await profile()).toEqual(snom);
  });

  it("clears with null: a nested member, a whole setting back to its default", async () => {
    const cleared = await patchProfile({ appLinks: { ios: null }, codecs: null, snom: { timezone: null } });
    expect(cleared.status, cleared.text).toBe(200);
    const after = cleared.json as ProfileBody;
    expect(after.appLinks).toEqual({ ios: null, android: "https://apps.example.net/android" });
    expect(after.codecs).toEqual(["opus", "G722", "PCMA", "PCMU"]);
    expect(after.snom.timezone).toBeNull();
    expect(after.snom.firmwareUrl).toBe("https://firmware.example.net/snom.bin");
  });

  it("checks the merged profile whole, names the nested field, and changes nothing when refused", async () => {
    const before = await profile();
    const audits = await auditCount(tenant.profileId);
    const badPort = await patchProfile({ transports: { tls: { port: 70000 } } });
    expect(badPort.status).toBe(400);
    expect((badPort.json as Problem).errors).toEqual([
      { path: "body.transports.tls.port", message: "must be at most 65535" },
    ]);
    const unknown = await patchProfile({ snom: { colour: "red" } });
    expect(unknown.status).toBe(400);
    expect((unknown.json as Problem).errors?.[0]).toEqual({
      path: "body.snom",
      message: "unknown field: colour",
    });
    const none = await patchProfile({
      transports: {
        udp: { enabled: false },
        tcp: { enabled: false },
        tls: { enabled: false },
        wss: { enabled: false },
      },
    });
    expect(none.status).toBe(400);
    expect((none.json as Problem).errors?.map((e) => e.path)).toEqual(["body.transports"]);
    expect(await profile()).toEqual(before);
    expect(await auditCount(tenant.profileId)).toBe(audits);
  });

  it("a profile PATCH that changes nothing writes no audit event and leaves updatedAt alone", async () => {
    const before = await profile();
    const audits = await auditCount(tenant.profileId);
    for (const body of [
      {},
      { name: before.name },
      { transports: { tcp: { port: 5080 } } },
      { srtp: before.srtp, snom: { firmwareUrl: "https://firmware.example.net/snom.bin" } },
    ]) {
      const same = await patchProfile(body);
      expect(same.status, JSON.stringify(body)).toBe(200);
      expect(same.json).toEqual(before);
    }
    expect(await auditCount(tenant.profileId)).toBe(audits);
    const changed = (await patchProfile({ srtp: "mandatory" })).json as ProfileBody;
    expect(changed.updatedAt > before.updatedAt).toBe(true);
    expect(await auditCount(tenant.profileId)).toBe(audits + 1);
  });

  it("an account PATCH that changes nothing writes no audit event and leaves updatedAt alone", async () => {
    const account = await op.ok<AccountBody & { updatedAt: string }>("POST", "/api/v1/accounts", {
      groupId: tenant.groupId,
      type: "PGSM",
      displayName: "Same Name",
      phoneNumber: "+41446681890",
    });
    const { password: _, ...view } = account;
    const audits = await auditCount(account.id);
    for (const body of [
      {},
      { displayName: "Same Name" },
      { phoneNumber: "+41 44 668 18 90", groupId: tenant.groupId, username: account.username },
      { profileId: null, notes: null },
    ]) {
      const same = await op.call("PATCH", `/api/v1/accounts/${account.id}`, body);
      expect(same.status, JSON.stringify(body)).toBe(200);
      expect(same.json).toEqual(view);
    }
    expect(await auditCount(account.id)).toBe(audits);
    const changed = await op.ok<AccountBody & { updatedAt: string }>(
      "PATCH",
      `/api/v1/accounts/${account.id}`,
      { displayName: "Other Name" },
      200,
    );
    expect(changed.updatedAt > account.updatedAt).toBe(true);
    expect(await auditCount(account.id)).toBe(audits + 1);
  });
});
