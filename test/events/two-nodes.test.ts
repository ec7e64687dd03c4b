import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SipResponse } from "../../src/sip/stack/message.js";
import { LicenseCheckClient } from "../licensing/license-client.js";
import { TestSipClient } from "../sip/support/client.js";
import { TestRegistrar } from "../sip/support/register.js";
import { type ApiClient, apiClient } from "../support/api.js";
import { type CliRun, listeningUrl, runCli } from "../support/cli.js";
import { createTestDatabase, databaseKind, type TestDatabase } from "../support/database.js";

/** A provisiond process and where it listens. */
interface Node {
  run: CliRun;
  url: string;
  sip: { address: string; port: number };
}

async function startNode(databaseUrl: string): Promise<Node> {
  const run = runCli(["serve"], {
    DATABASE_URL: databaseUrl,
    PROVISIOND_DATA_DIR: mkdtempSync(join(tmpdir(), "provisiond-node-")),
    PROVISIOND_HTTP_PORT: "0",
    PROVISIOND_SIP_ENABLED: "true",
    PROVISIOND_SIP_LISTEN: "udp:127.0.0.1:0",
  });
  const url = await listeningUrl(run, 60_000);
  const deadline = Date.now() + 30_000;
  let match: RegExpExecArray | null = null;
  while (!match && Date.now() < deadline) {
    match = /"transport":"udp","address":"127\.0\.0\.1","port":(\d+).*"msg":"SIP listening"/.exec(
      run.stdout(),
    );
    if (!match) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (!match?.[1]) throw new Error(`no SIP listener:\n${run.stdout()}\n${run.stderr()}`);
  return { run, url, sip: { address: "127.0.0.1", port: Number(match[1]) } };
}

async function stopNode(node: Node | undefined): Promise<void> {
  if (!node || node.run.child.exitCode !== null) return;
  node.run.child.kill("SIGTERM");
  await node.run.exited;
}

/** Polls until `settled` holds or a second has passed; answers the last value and the time taken. */
async function withinASecond<T>(attempt: () => Promise<T>, settled: (value: T) => boolean) {
  const started = Date.now();
  let value = await attempt();
  while (!settled(value) && Date.now() - started < 1000) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    value = await attempt();
  }
  return { value, elapsedMs: Date.now() - started };
}

describe.skipIf(databaseKind === "pglite")(
  "two server processes on one PostgreSQL see each other's changes at once (PostgreSQL only; skipped on PGlite)",
  () => {
    let db: TestDatabase;
    let a: Node;
    let b: Node;
    let opA: ApiClient;
    let opB: ApiClient;
    let organisationId: string;
    let groupId: string;
    const clients: TestSipClient[] = [];

    beforeAll(async () => {
      db = await createTestDatabase({ migrated: false });
      await db.database.close();
      const url = db.url as string;
      a = await startNode(url);
      const token = /^ {4}(pvd_\S+)$/m.exec(a.run.stdout())?.[1];
      if (!token) throw new Error(`node A printed no token:\n${a.run.stdout()}`);
      b = await startNode(url);
      opA = apiClient(a.url, token);
      opB = apiClient(b.url, token);
      const org = await opA.ok<{ id: string }>("POST", "/api/v1/organisations", {
        name: "Two nodes",
        sipDomains: ["127.0.0.1"],
      });
      organisationId = org.id;
      const profile = await opA.ok<{ id: string }>("POST", "/api/v1/profiles", {
        organisationId,
        name: "Loopback",
        sipDomain: "127.0.0.1",
        serverHost: "127.0.0.1",
      });
      groupId = (
        await opA.ok<{ id: string }>("POST", "/api/v1/groups", {
          organisationId,
          name: "Phones",
          defaultProfileId: profile.id,
        })
      ).id;
    }, 180_000);

    afterAll(async () => {
      for (const client of clients) client.close();
      await Promise.all([stopNode(a), stopNode(b)]);
      // Dropped once both processes have let go of it.
      await db?.destroy();
    }, 60_000);

    let nextUsername = 7000;
    /** An account made on node A, registered on node B, its license checked on node B. */
    async function accountRegisteredOnB() {
      const username = String(nextUsername++);
      const password = `password-${username}`;
      const account = await opA.ok<{ id: string }>("POST", "/api/v1/accounts", {
        groupId,
        type: "PGSM",
        username,
        password,
        licenseKey: `LIC-${username}`,
      });
      const client = await TestSipClient.udp(b.sip);
      clients.push(client);
      const ua = new TestRegistrar(client, username, password, "127.0.0.1");
      expect((await ua.register()).status).toBe(200);
      const license = new LicenseCheckClient(b.url, username, password, "127.0.0.1", "MD5");
      // No vendor is configured: an account that may check gets as far as 503, and B has it cached now.
      expect((await license.check()).status).toBe(503);
      const registrations = async (api: ApiClient) =>
        (await api.ok<{ registrations: unknown[] }>("GET", `/api/v1/accounts/${account.id}`)).registrations;
      expect(await registrations(opB)).toHaveLength(1);
      return { id: account.id, username, password, ua, license, registrations };
    }

    const status = (response: SipResponse) => response.status;

    it("a disable on A: B drops the registration and refuses the next REGISTER and license check", async () => {
      const account = await accountRegisteredOnB();
      await opA.ok("POST", `/api/v1/accounts/${account.id}/disable`, { reason: "stolen" }, 200);

      const register = await withinASecond(
        () => account.ua.register(),
        (response) => status(response) === 403,
      );
      expect(register.value.status).toBe(403);
      expect(register.value.headers.getAll("warning").join(" ")).toContain("stolen");
      expect(register.elapsedMs).toBeLessThan(1000);
      const check = await withinASecond(
        () => account.license.check(),
        (result) => result.status === 403,
      );
      expect(check.value.status).toBe(403);
      expect(await account.registrations(opB)).toEqual([]);

      await opA.ok("POST", `/api/v1/accounts/${account.id}/enable`, {}, 200);
      const back = await withinASecond(
        () => account.ua.register(),
        (response) => status(response) === 200,
      );
      expect(back.value.status).toBe(200);
    });

    it("a new password on A: B refuses the old one at once", async () => {
      const account = await accountRegisteredOnB();
      await opA.ok("POST", `/api/v1/accounts/${account.id}/reset-password`, { password: "New-pass-77" }, 200);
      const old = await withinASecond(
        () => account.ua.register(),
        (response) => status(response) === 401,
      );
      expect(old.value.status).toBe(401);
      expect((await account.ua.register({ password: "New-pass-77" })).status).toBe(200);
    });

    it("a profile change on A (license mode direct): B answers the next license check accordingly", async () => {
      const account = await accountRegisteredOnB();
      const profileId = (await opA.ok<{ defaultProfileId: string }>("GET", `/api/v1/groups/${groupId}`))
        .defaultProfileId;
      await opA.ok("PATCH", `/api/v1/profiles/${profileId}`, { licenseMode: "direct" });
      try {
        const check = await withinASecond(
          () => account.license.check(),
          (result) => result.status === 409,
        );
        expect(check.value.status).toBe(409);
      } finally {
        await opA.ok("PATCH", `/api/v1/profiles/${profileId}`, { licenseMode: "proxy" });
      }
    });

    it("an organisation made inactive on A: B drops its registrations and refuses them", async () => {
      const account = await accountRegisteredOnB();
      await opA.ok("PATCH", `/api/v1/organisations/${organisationId}`, { active: false });
      try {
        const register = await withinASecond(
          () => account.ua.register(),
          (response) => status(response) === 403,
        );
        expect(register.value.status).toBe(403);
        expect(register.value.headers.getAll("warning").join(" ")).toContain("its organisation is inactive");
        const check = await withinASecond(
          () => account.license.check(),
          (result) => result.status === 403,
        );
        expect(String(check.value.json.detail)).toContain("its organisation is inactive");
      } finally {
        await opA.ok("PATCH", `/api/v1/organisations/${organisationId}`, { active: true });
      }
      const back = await withinASecond(
        () => account.ua.register(),
        (response) => status(response) === 200,
      );
      expect(back.value.status).toBe(200);
    });
  },
);
