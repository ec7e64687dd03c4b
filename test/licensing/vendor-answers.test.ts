import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { type ApiClient, apiClient } from "../support/api.js";
import { databaseKind } from "../support/database.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { createLicensedAccount } from "./fixture.js";
import { type CheckResult, LicenseCheckClient } from "./license-client.js";
import { VendorSimulator } from "./vendor-simulator.js";

/** Vendor answers a license proxy must read right, and a client it must let in (issue 11). */
const run = promisify(execFile);

interface Envelope {
  valid: boolean;
  code: string;
  detail: string | null;
  source: "vendor" | "cache" | "stale";
  graceUntil: string | null;
}
const envelope = (result: CheckResult) => result.json as unknown as Envelope;

describe(`license proxy: vendor answers on ${databaseKind}`, () => {
  const clock = new ManualClock(new Date());
  const vendor = new VendorSimulator(() => clock.now());
  let t: TestServer;
  let op: ApiClient;

  beforeAll(async () => {
    await vendor.start();
    t = await startTestServer({
      clock,
      config: {
        http: { host: "127.0.0.1", port: 0 },
        license: {
          vendorUrl: vendor.url,
          vendorPublicKey: vendor.publicKeyPem,
          timeoutMs: 500,
          retries: 2,
          retryBackoffMs: 10,
          breakerFailureThreshold: 1000,
        },
      },
    });
    op = apiClient(t.url, t.operatorToken);
  });

  afterAll(async () => {
    await t?.stop();
    await vendor.stop();
  });

  afterEach(() => {
    vendor.behaviour = "valid";
    vendor.upcoming.length = 0;
    vendor.expiry = "2027-12-31T00:00:00.000Z";
  });

  async function licensed() {
    const account = await createLicensedAccount(op);
    const client = new LicenseCheckClient(t.url, account.username, account.password, account.sipDomain);
    const calls = () => vendor.requests.filter((r) => r.body.fingerprint === account.id).length;
    return { account, client, calls };
  }

  it("never answers valid: true for a VALID answer about a license whose expiry has passed", async () => {
    const { client } = await licensed();
    vendor.expiry = new Date(clock.now().getTime() - 60_000).toISOString();
    const result = await client.check();
    expect(result.status).toBe(200);
    expect(envelope(result)).toMatchObject({ valid: false, code: "EXPIRED", graceUntil: null });
    expect(envelope(result).detail).toContain("expired");
  });

  it("stops serving a cached VALID answer as valid once the license's expiry passes", async () => {
    const { client } = await licensed();
    vendor.expiry = new Date(clock.now().getTime() + 10 * 60_000).toISOString();
    expect(envelope(await client.check())).toMatchObject({ valid: true, source: "vendor" });
    await vendor.stop();
    try {
      clock.advance(11 * 60_000);
      const later = envelope(await client.check());
      expect(later).toMatchObject({ valid: false, code: "EXPIRED", source: "stale" });
    } finally {
      await vendor.start();
    }
  });

  it("takes a redirect for a refusal: not retried, not followed, and says so", async () => {
    const { account, client, calls } = await licensed();
    vendor.behaviour = "redirect";
    const result = await client.check();
    expect(result.status).toBe(503);
    expect(String(result.json.detail)).toContain("redirect");
    expect(calls()).toBe(1);
    const details = await op.ok<{ license: { lastFailure: string | null } }>(
      "GET",
      `/api/v1/accounts/${account.id}`,
    );
    expect(details.license.lastFailure).toBeNull();
  });

  it("reads a code it does not know as an invalid license with that code, not as a malformed answer", async () => {
    const { client, calls } = await licensed();
    vendor.behaviour = "unknownCode";
    vendor.newCode = "QUOTA_EXCEEDED";
    const result = await client.check();
    expect(result.status).toBe(200);
    expect(envelope(result)).toMatchObject({ valid: false, code: "QUOTA_EXCEEDED", source: "vendor" });
    expect(calls()).toBe(1);
    // An answer, so it is cached like any other.
    expect(envelope(await client.check())).toMatchObject({ code: "QUOTA_EXCEEDED", source: "cache" });
    expect(calls()).toBe(1);
  });

  it("honours a vendor 429 with Retry-After: not retried, and no vendor call before that time", async () => {
    const first = await licensed();
    vendor.behaviour = "rateLimited";
    vendor.retryAfterSeconds = 120;
    const limited = await first.client.check();
    expect(limited.status).toBe(503);
    expect(String(limited.json.detail)).toContain("429");
    expect(first.calls()).toBe(1);
    vendor.behaviour = "valid";
    // Another license within the window: the vendor is not asked.
    const second = await licensed();
    expect((await second.client.check()).status).toBe(503);
    expect(second.calls()).toBe(0);
    clock.advance(121_000);
    const after = await second.client.check();
    expect(after.status).toBe(200);
    expect(envelope(after)).toMatchObject({ valid: true, source: "vendor" });
  });
});

describe(`license check with curl --digest on ${databaseKind}`, () => {
  let t: TestServer;
  let op: ApiClient;
  const vendor = new VendorSimulator(() => new Date());

  beforeAll(async () => {
    await vendor.start();
    t = await startTestServer({
      config: {
        http: { host: "127.0.0.1", port: 0 },
        license: { vendorUrl: vendor.url, vendorPublicKey: vendor.publicKeyPem },
      },
    });
    op = apiClient(t.url, t.operatorToken);
  });

  afterAll(async () => {
    await t?.stop();
    await vendor.stop();
  });

  const curl = async (args: string[]) => {
    const { stdout } = await run("curl", ["-s", "-w", "\n%{http_code}", ...args]);
    const lines = stdout.split("\n");
    const status = Number(lines.pop());
    return { status, body: lines.join("\n") };
  };

  it("challenges before it reads the body, so curl --digest (empty first request) gets its license", async () => {
    const account = await createLicensedAccount(op);
    const body = JSON.stringify({ sipDomain: account.sipDomain });
    const result = await curl([
      "--digest",
      "-u",
      `${account.username}:${account.password}`,
      "-H",
      "content-type: application/json",
      "-d",
      body,
      `${t.url}/license/check?sipDomain=${account.sipDomain}`,
    ]);
    expect(result.status, result.body).toBe(200);
    expect(JSON.parse(result.body)).toMatchObject({ valid: true, code: "VALID", accountId: account.id });
    // Without the body at all, the query names everything the check needs.
    const bare = await curl([
      "--digest",
      "-u",
      `${account.username}:${account.password}`,
      "-X",
      "POST",
      `${t.url}/license/check?sipDomain=${account.sipDomain}`,
    ]);
    expect(bare.status, bare.body).toBe(200);
  });

  it("answers an empty request without a realm 400 naming sipDomain, and a disagreeing one 400 too", async () => {
    const account = await createLicensedAccount(op);
    const empty = await fetch(`${t.url}/license/check`, { method: "POST" });
    expect(empty.status).toBe(400);
    expect(JSON.stringify(await empty.json())).toContain("body.sipDomain");
    const differ = await fetch(`${t.url}/license/check?sipDomain=other.example.net`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ sipDomain: account.sipDomain }),
    });
    expect(differ.status).toBe(400);
    expect(JSON.stringify(await differ.json())).toContain("differs");
    const challenged = await fetch(`${t.url}/license/check?sipDomain=${account.sipDomain}`, {
      method: "POST",
    });
    expect(challenged.status).toBe(401);
    expect(challenged.headers.get("www-authenticate")).toContain(`realm="${account.sipDomain}"`);
  });

  it("answers an unknown user from memory after the first try, as it does a wrong password", async () => {
    const account = await createLicensedAccount(op);
    const knex = t.db.database.knex;
    let accountQueries = 0;
    const count = (query: { sql: string }) => {
      if (query.sql.includes('"accounts"')) accountQueries++;
    };
    const stranger = new LicenseCheckClient(t.url, "no-such-user", "guess", account.sipDomain);
    await stranger.challenge();
    knex.on("query", count);
    try {
      expect((await stranger.post({ sipDomain: account.sipDomain }, stranger.authorization())).status).toBe(
        401,
      );
      const first = accountQueries;
      for (let i = 0; i < 3; i++) {
        expect((await stranger.post({ sipDomain: account.sipDomain }, stranger.authorization())).status).toBe(
          401,
        );
      }
      expect(accountQueries).toBe(first);
    } finally {
      knex.off("query", count);
    }
  });
});
