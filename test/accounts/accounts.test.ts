import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CredentialCipher, parseCredentialKey } from "../../src/accounts/credentials.js";
import type { DomainEvent } from "../../src/events.js";
import { type ApiClient, apiClient } from "../support/api.js";
import { testConfig } from "../support/config.js";
import { databaseKind } from "../support/database.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { type AccountBody, createTenant, type Page, type Problem, type Tenant, unique } from "./fixtures.js";

const md5 = (text: string) => createHash("md5").update(text).digest("hex");
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

describe(`SIP accounts on ${databaseKind}`, () => {
  let t: TestServer;
  let op: ApiClient;
  let tenant: Tenant;
  const events: DomainEvent[] = [];

  beforeAll(async () => {
    t = await startTestServer();
    op = apiClient(t.url, t.operatorToken);
    tenant = await createTenant(op);
    t.server.events.subscribe((event) => {
      events.push(event);
    });
  });
  afterAll(async () => {
    await t.stop();
  });

  const knex = () => t.db.database.knex;
  const accountRow = (id: string) => knex()("accounts").where({ id }).first();
  const countAccounts = async () =>
    Number((await knex()("accounts").count<{ n: string }[]>({ n: "*" }))[0]?.n);

  const createPgsm = (body: Record<string, unknown> = {}) =>
    op.ok<AccountBody>("POST", "/api/v1/accounts", { groupId: tenant.groupId, type: "PGSM", ...body });

  describe("creation", () => {
    it("creates a manual PGSM account, active at once, with a generated username and password shown once", async () => {
      const created = await createPgsm({ displayName: "Alice Example" });
      expect(created.status).toBe("active");
      expect(created.mode).toBe("manual");
      expect(created.username).toMatch(/^[1-9][0-9]{9}$/);
      expect(created.password).toMatch(/^[A-Za-z0-9]{20}$/);
      expect(created.sipDomain).toBe(tenant.sipDomain);

      const details = await op.ok<Record<string, unknown>>("GET", `/api/v1/accounts/${created.id}`);
      expect(details).not.toHaveProperty("password");
      expect(details.statusReason).toMatch(/active/);
      expect((details.profile as { id: string }).id).toBe(tenant.profileId);
      expect((details.recentEvents as Array<{ action: string }>).map((e) => e.action)).toContain(
        "account.created",
      );
    });

    it("stores HA1 digests for MD5 and SHA-256 and an encrypted copy bound to the account", async () => {
      const created = await createPgsm({ username: "4100200300", password: "S3cret-pass!" });
      const row = await accountRow(created.id);
      expect(row.ha1_md5).toBe(md5(`4100200300:${tenant.sipDomain}:S3cret-pass!`));
      expect(row.ha1_sha256).toBe(sha256(`4100200300:${tenant.sipDomain}:S3cret-pass!`));
      expect(row.password_encrypted).not.toContain("S3cret-pass!");
      const key = parseCredentialKey(testConfig().secrets.credentialKey ?? "");
      const cipher = new CredentialCipher(key as Buffer);
      expect(cipher.decrypt(row.password_encrypted, created.id)).toBe("S3cret-pass!");
      expect(() => cipher.decrypt(row.password_encrypted, tenant.groupId)).toThrow();
    });

    it("creates a SNOM account with its MAC normalised, and refuses SNOM without a MAC or by the wizard", async () => {
      const mac = "00:04:13:2a:bb:01";
      const snom = await op.ok<AccountBody>("POST", "/api/v1/accounts", {
        groupId: tenant.groupId,
        type: "SNOM",
        macAddress: mac,
      });
      expect(snom.macAddress).toBe("0004132ABB01");
      const before = await countAccounts();
      const noMac = await op.call("POST", "/api/v1/accounts", { groupId: tenant.groupId, type: "SNOM" });
      expect(noMac.status).toBe(400);
      expect((noMac.json as Problem).errors?.map((e) => e.path)).toContain("body.macAddress");
      const wizard = await op.call("POST", "/api/v1/accounts", {
        groupId: tenant.groupId,
        type: "SNOM",
        mode: "wizard",
        macAddress: "00:04:13:2a:bb:02",
        phoneNumber: "+41446681801",
      });
      expect(wizard.status).toBe(400);
      expect((wizard.json as Problem).errors?.map((e) => e.path)).toContain("body.mode");
      const pgsmMac = await op.call("POST", "/api/v1/accounts", {
        groupId: tenant.groupId,
        type: "PGSM",
        macAddress: "00:04:13:2a:bb:03",
      });
      expect(pgsmMac.status).toBe(400);
      const multicast = await op.call("POST", "/api/v1/accounts", {
        groupId: tenant.groupId,
        type: "SNOM",
        macAddress: "01:00:5e:00:00:01",
      });
      expect(multicast.status).toBe(400);
      expect(await countAccounts()).toBe(before);
    });

    it("creates wizard accounts pending activation, and needs their phone number", async () => {
      const noNumber = await op.call("POST", "/api/v1/accounts", {
        groupId: tenant.groupId,
        type: "PGSM",
        mode: "wizard",
      });
      expect(noNumber.status).toBe(400);
      expect((noNumber.json as Problem).errors?.map((e) => e.path)).toContain("body.phoneNumber");
      const wizard = await createPgsm({ mode: "wizard", phoneNumber: "+41 44 668 18 00" });
      expect(wizard.status).toBe("pending_activation");
      expect(wizard.phoneNumber).toBe("+41446681800");
      const details = await op.ok<{ statusReason: string }>("GET", `/api/v1/accounts/${wizard.id}`);
      expect(details.statusReason).toMatch(/cannot register or call until/);
    });

    it("refuses bad input with problem+json naming each field, and creates nothing", async () => {
      const before = await countAccounts();
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ groupId: tenant.groupId, type: "PGSM", colour: "red" }, "body"],
        [{ groupId: tenant.groupId, type: "IPHONE" }, "body.type"],
        [{ groupId: tenant.groupId, type: "PGSM", username: "alice" }, "body.username"],
        [{ groupId: tenant.groupId, type: "PGSM", password: "short" }, "body.password"],
        [{ groupId: tenant.groupId, type: "PGSM", phoneNumber: "12345" }, "body.phoneNumber"],
        [{ groupId: tenant.groupId, type: "PGSM", displayName: "x".repeat(201) }, "body.displayName"],
        [{ groupId: tenant.groupId, type: "PGSM", keepAliveSeconds: "30" }, "body.keepAliveSeconds"],
        [{ groupId: "00000000-0000-4000-8000-000000000000", type: "PGSM" }, "body.groupId"],
        [{ groupId: "not-a-uuid", type: "PGSM" }, "body.groupId"],
      ];
      for (const [body, path] of cases) {
        const result = await op.call("POST", "/api/v1/accounts", body);
        expect(result.status, JSON.stringify(body)).toBe(400);
        expect(result.headers.get("content-type")).toContain("application/problem+json");
        const paths = (result.json as Problem).errors?.map((e) => e.path) ?? [];
        expect(
          paths.some((p) => p.startsWith(path)),
          `${JSON.stringify(body)} -> ${paths}`,
        ).toBe(true);
      }
      expect(await countAccounts()).toBe(before);
    });

    it("answers 409 for a username, phone number or MAC that is taken, and two racing creates give one 201 and one 409", async () => {
      const first = await createPgsm({ username: "5550001", phoneNumber: "+41446681802" });
      expect(first.status).toBe("active");
      const sameName = await op.call("POST", "/api/v1/accounts", {
        groupId: tenant.groupId,
        type: "PGSM",
        username: "5550001",
      });
      expect(sameName.status).toBe(409);
      expect((sameName.json as Problem).detail).toMatch(/username is taken/);
      const sameNumber = await op.call("POST", "/api/v1/accounts", {
        groupId: tenant.groupId,
        type: "PGSM",
        phoneNumber: "0041446681802",
      });
      expect(sameNumber.status).toBe(409);

      const race = await Promise.all(
        [1, 2].map(() =>
          op.call("POST", "/api/v1/accounts", { groupId: tenant.groupId, type: "PGSM", username: "5550002" }),
        ),
      );
      expect(race.map((r) => r.status).sort()).toEqual([201, 409]);
      expect(await knex()("accounts").where({ username: "5550002" }).whereNull("deleted_at")).toHaveLength(1);
    });

    it("lets the same username live in another SIP domain", async () => {
      const other = await createTenant(op);
      await createPgsm({ username: "5550003" });
      const there = await op.ok<AccountBody>("POST", "/api/v1/accounts", {
        groupId: other.groupId,
        type: "PGSM",
        username: "5550003",
      });
      expect(there.sipDomain).toBe(other.sipDomain);
    });
  });

  describe("changes", () => {
    it("edits an account; a new username recomputes its HA1 and announces the identity change", async () => {
      const created = await createPgsm({ username: "6660001", password: "Original-pass1" });
      events.length = 0;
      const changed = await op.ok<AccountBody>("PATCH", `/api/v1/accounts/${created.id}`, {
        username: "6660002",
        displayName: "Bob",
        notes: "desk 4",
      });
      expect(changed.username).toBe("6660002");
      expect(changed.displayName).toBe("Bob");
      const row = await accountRow(created.id);
      expect(row.ha1_md5).toBe(md5(`6660002:${tenant.sipDomain}:Original-pass1`));
      expect(events).toContainEqual({
        type: "account.identityChanged",
        accountId: created.id,
        username: "6660002",
        sipDomain: tenant.sipDomain,
      });
      const trail = await op.ok<Page<{ action: string; after: { displayName: string } }>>(
        "GET",
        `/api/v1/accounts/${created.id}/events?sort=occurredAt`,
      );
      // Two events of the same millisecond have no order: compare them as a set.
      expect(trail.items.map((e) => e.action).sort()).toEqual(["account.created", "account.updated"]);
      expect(trail.items.find((e) => e.action === "account.updated")?.after.displayName).toBe("Bob");
    });

    it("refuses edits that would break the account or clash with another, and changes nothing", async () => {
      const snom = await op.ok<AccountBody>("POST", "/api/v1/accounts", {
        groupId: tenant.groupId,
        type: "SNOM",
        macAddress: "00:04:13:2a:cc:01",
      });
      const wizard = await createPgsm({ mode: "wizard", phoneNumber: "+41446681805" });
      const taken = await createPgsm({ phoneNumber: "+41446681806" });
      const refusals: Array<[string, Record<string, unknown>, number, string]> = [
        [snom.id, { macAddress: null }, 400, "body.macAddress"],
        [wizard.id, { phoneNumber: null }, 400, "body.phoneNumber"],
        [wizard.id, { macAddress: "00:04:13:2a:cc:02" }, 400, "body.macAddress"],
        [wizard.id, { phoneNumber: "+41446681806" }, 409, ""],
        [taken.id, { username: wizard.username }, 409, ""],
        [taken.id, { groupId: "00000000-0000-4000-8000-000000000000" }, 400, "body.groupId"],
        [taken.id, { status: "active" }, 400, "body"],
      ];
      for (const [id, body, status, path] of refusals) {
        const before = await accountRow(id);
        const result = await op.call("PATCH", `/api/v1/accounts/${id}`, body);
        expect(result.status, JSON.stringify(body)).toBe(status);
        if (path) expect((result.json as Problem).errors?.map((e) => e.path)).toContain(path);
        expect(await accountRow(id)).toEqual(before);
      }
    });

    it("resets the password: the new one is shown once, the old HA1 no longer matches", async () => {
      const created = await createPgsm({ password: "Original-pass2" });
      events.length = 0;
      const reset = await op.ok<AccountBody>(
        "POST",
        `/api/v1/accounts/${created.id}/reset-password`,
        {},
        200,
      );
      expect(reset.password).toMatch(/^[A-Za-z0-9]{20}$/);
      const row = await accountRow(created.id);
      expect(row.ha1_md5).toBe(md5(`${created.username}:${tenant.sipDomain}:${reset.password}`));
      expect(events).toContainEqual({ type: "account.passwordChanged", accountId: created.id });
      const chosen = await op.ok<AccountBody>(
        "POST",
        `/api/v1/accounts/${created.id}/reset-password`,
        { password: "Chosen-pass-3" },
        200,
      );
      expect(chosen.password).toBe("Chosen-pass-3");
    });

    it("disables with a reason and enables back to active, or to pending activation if never activated", async () => {
      const manual = await createPgsm();
      events.length = 0;
      const disabled = await op.ok<AccountBody>(
        "POST",
        `/api/v1/accounts/${manual.id}/disable`,
        { reason: "lost phone" },
        200,
      );
      expect(disabled.status).toBe("disabled");
      expect(disabled.disabledReason).toBe("lost phone");
      expect(events).toContainEqual({ type: "account.disabled", accountId: manual.id, reason: "lost phone" });
      const again = await op.call("POST", `/api/v1/accounts/${manual.id}/disable`, { reason: "twice" });
      expect(again.status).toBe(409);
      const noReason = await op.call("POST", `/api/v1/accounts/${manual.id}/disable`, {});
      expect(noReason.status).toBe(400);
      const details = await op.ok<{ statusReason: string }>("GET", `/api/v1/accounts/${manual.id}`);
      expect(details.statusReason).toBe("disabled: lost phone");
      const enabled = await op.ok<AccountBody>(
        "POST",
        `/api/v1/accounts/${manual.id}/enable`,
        undefined,
        200,
      );
      expect(enabled.status).toBe("active");
      expect(enabled.disabledReason).toBeNull();
      expect((await op.call("POST", `/api/v1/accounts/${manual.id}/enable`)).status).toBe(409);

      const wizard = await createPgsm({ mode: "wizard", phoneNumber: "+41446681803" });
      await op.ok("POST", `/api/v1/accounts/${wizard.id}/disable`, { reason: "paused" }, 200);
      const back = await op.ok<AccountBody>("POST", `/api/v1/accounts/${wizard.id}/enable`, undefined, 200);
      expect(back.status).toBe("pending_activation");
    });

    it("deletes: gone from lists, credentials purged, the audit trail stays and the identifiers are free again", async () => {
      const created = await createPgsm({ username: "7770001", phoneNumber: "+41446681804" });
      events.length = 0;
      await op.ok("DELETE", `/api/v1/accounts/${created.id}`);
      expect(events).toContainEqual({ type: "account.deleted", accountId: created.id });
      expect((await op.call("GET", `/api/v1/accounts/${created.id}`)).status).toBe(404);
      const list = await op.ok<Page<AccountBody>>("GET", "/api/v1/accounts?q=7770001");
      expect(list.items).toHaveLength(0);
      const row = await accountRow(created.id);
      expect([row.ha1_md5, row.ha1_sha256, row.password_encrypted]).toEqual([null, null, null]);
      const trail = await knex()("audit_events").where({ target_id: created.id }).pluck("action");
      expect(trail).toEqual(expect.arrayContaining(["account.created", "account.deleted"]));
      await createPgsm({ username: "7770001", phoneNumber: "+41446681804" });
    });

    it("moves accounts that follow their group's default profile to the new profile's SIP domain", async () => {
      const created = await createPgsm({ password: "Follow-pass-1" });
      const other = await op.ok<{ id: string }>("POST", "/api/v1/profiles", {
        organisationId: tenant.organisationId,
        name: unique("Second"),
        sipDomain: "second.example.net",
        serverHost: "sip2.example.net",
      });
      const group = await op.ok<{ id: string }>("POST", "/api/v1/groups", {
        organisationId: tenant.organisationId,
        name: unique("Movable"),
        defaultProfileId: tenant.profileId,
      });
      const mover = await op.ok<AccountBody>("POST", "/api/v1/accounts", {
        groupId: group.id,
        type: "PGSM",
        password: "Follow-pass-2",
      });
      await op.ok("PATCH", `/api/v1/groups/${group.id}`, { defaultProfileId: other.id }, 200);
      const moved = await accountRow(mover.id);
      expect(moved.sip_domain).toBe("second.example.net");
      expect(moved.ha1_md5).toBe(md5(`${mover.username}:second.example.net:Follow-pass-2`));
      // Accounts elsewhere are untouched.
      expect((await accountRow(created.id)).sip_domain).toBe(tenant.sipDomain);
      // A group whose accounts rely on its default cannot lose it.
      const cleared = await op.call("PATCH", `/api/v1/groups/${group.id}`, { defaultProfileId: null });
      expect(cleared.status).toBe(409);
    });

    it("refuses a group or organisation delete while accounts or profiles remain (409, not 500)", async () => {
      const local = await createTenant(op);
      const account = await op.ok<AccountBody>("POST", "/api/v1/accounts", {
        groupId: local.subGroupId,
        type: "PGSM",
      });
      const groupDelete = await op.call("DELETE", `/api/v1/groups/${local.subGroupId}`);
      expect(groupDelete.status).toBe(409);
      expect((groupDelete.json as Problem).detail).toMatch(/1 account/);
      await op.ok("DELETE", `/api/v1/accounts/${account.id}`);
      await op.ok("DELETE", `/api/v1/groups/${local.subGroupId}`);
      await op.ok("DELETE", `/api/v1/groups/${local.groupId}`);
      const orgDelete = await op.call("DELETE", `/api/v1/organisations/${local.organisationId}`);
      expect(orgDelete.status).toBe(409);
      expect((orgDelete.json as Problem).detail).toMatch(/1 profile/);
      await op.ok("DELETE", `/api/v1/profiles/${local.profileId}`);
      await op.ok("DELETE", `/api/v1/organisations/${local.organisationId}`);
    });
  });

  describe("secrets", () => {
    it("never writes a password to a list, an export, an audit event or a log line", async () => {
      const password = "Never-Logged-7x";
      const created = await createPgsm({ password, displayName: "Secret Keeper" });
      const reset = await op.ok<AccountBody>(
        "POST",
        `/api/v1/accounts/${created.id}/reset-password`,
        { password: "Never-Logged-8y" },
        200,
      );
      const imported = await op.call(
        "POST",
        "/api/v1/accounts/import",
        `groupId,type,password\n${tenant.groupId},PGSM,Never-Logged-9z\n`,
        "text/csv",
      );
      expect(imported.status).toBe(201);
      const secrets = [password, reset.password as string, "Never-Logged-9z"];
      const list = await op.call("GET", "/api/v1/accounts?pageSize=500");
      const csv = await op.call("GET", "/api/v1/accounts.csv");
      const audit = JSON.stringify(await knex()("audit_events").select("before", "after"));
      const auditApi = await op.call("GET", "/api/v1/audit-events?pageSize=500");
      for (const secret of secrets) {
        expect(list.text).not.toContain(secret);
        expect(csv.text).not.toContain(secret);
        expect(audit).not.toContain(secret);
        expect(auditApi.text).not.toContain(secret);
        expect(t.logs.text()).not.toContain(secret);
      }
      // The HA1s are secrets too: they let anyone register as the account.
      const row = await accountRow(created.id);
      expect(list.text).not.toContain(row.ha1_md5);
      expect(audit).not.toContain(row.ha1_md5);
    });
  });
});
