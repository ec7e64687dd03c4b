import { createPublicKey, verify } from "node:crypto";
import { request as httpRequest } from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { type ApiClient, apiClient } from "../support/api.js";
import { databaseKind } from "../support/database.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { createLicensedAccount, type LicensedAccount } from "./fixture.js";
import { type CheckResult, LicenseCheckClient } from "./license-client.js";
import { VendorSimulator } from "./vendor-simulator.js";

const hour = 3600_000;

interface Envelope {
  valid: boolean;
  code: string;
  detail: string | null;
  source: "vendor" | "cache" | "stale";
  checkedAt: string;
  ttl: number;
  graceUntil: string | null;
  accountId: string;
  licenseKey: string;
  license: { status: string; expiry: string | null } | null;
}

const envelope = (result: CheckResult) => result.json as unknown as Envelope;

function licenseConfig(vendor: VendorSimulator | null, extra: Record<string, unknown> = {}) {
  return {
    http: { host: "127.0.0.1", port: 0 },
    license: {
      vendorUrl: vendor?.url ?? null,
      vendorPublicKey: vendor?.publicKeyPem ?? null,
      timeoutMs: 300,
      retries: 1,
      retryBackoffMs: 10,
      ttlSeconds: 3600,
      refreshAheadSeconds: 300,
      gracePeriodSeconds: 86_400,
      maxClockSkewSeconds: 120,
      breakerFailureThreshold: 1000,
      ...extra,
    },
  };
}

async function waitFor(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const until = Date.now() + 5000;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe(`license proxy on ${databaseKind}`, () => {
  const clock = new ManualClock(new Date());
  const vendor = new VendorSimulator(() => clock.now());
  let t: TestServer;
  let op: ApiClient;

  beforeAll(async () => {
    await vendor.start();
    t = await startTestServer({ clock, config: licenseConfig(vendor) });
    op = apiClient(t.url, t.operatorToken);
  });

  afterAll(async () => {
    await t?.stop();
    await vendor.stop();
  });

  afterEach(async () => {
    vendor.behaviour = "valid";
    vendor.ttl = 3600;
    await vendor.start();
  });

  async function licensed(options: Parameters<typeof createLicensedAccount>[1] = {}) {
    const account = await createLicensedAccount(op, options);
    const client = new LicenseCheckClient(t.url, account.username, account.password, account.sipDomain);
    return { account, client };
  }

  const vendorCalls = (account: LicensedAccount) =>
    vendor.requests.filter((r) => r.body.fingerprint === account.id).length;

  async function storedChecks(): Promise<number> {
    const [row] = (await t.db.database.knex("license_checks").count({ n: "*" })) as Array<{
      n: string | number;
    }>;
    return Number(row?.n ?? 0);
  }

  it("answers a valid license from the vendor, then from the cache, in an envelope the published key verifies", async () => {
    const { account, client } = await licensed();
    const first = await client.check();
    expect(first.status, first.bytes.toString()).toBe(200);
    expect(envelope(first)).toMatchObject({
      valid: true,
      code: "VALID",
      source: "vendor",
      ttl: 3600,
      accountId: account.id,
      license: { status: "ACTIVE", expiry: "2027-12-31T00:00:00.000Z" },
    });
    expect(Date.parse(envelope(first).graceUntil ?? "")).toBe(
      Date.parse(envelope(first).checkedAt) + hour + 86_400_000,
    );

    const published = await op.ok<{ publicKeyPem: string; keyId: string }>("GET", "/license/public-key");
    const signature = Buffer.from(first.headers.get("license-signature") ?? "", "base64");
    expect(first.headers.get("license-key-id")).toBe(published.keyId);
    expect(verify(null, first.bytes, createPublicKey(published.publicKeyPem), signature)).toBe(true);
    const tampered = Buffer.from(first.bytes.toString().replace('"valid":true', '"valid":false'));
    expect(verify(null, tampered, createPublicKey(published.publicKeyPem), signature)).toBe(false);

    clock.advance(60_000);
    const second = await client.check();
    expect(envelope(second)).toMatchObject({
      valid: true,
      source: "cache",
      checkedAt: envelope(first).checkedAt,
    });
    expect(
      verify(
        null,
        second.bytes,
        createPublicKey(published.publicKeyPem),
        Buffer.from(second.headers.get("license-signature") ?? "", "base64"),
      ),
    ).toBe(true);
    expect(vendorCalls(account)).toBe(1);
  });

  it("never holds a valid answer fresh, or in grace, past the license's own expiry", async () => {
    const { client } = await licensed();
    vendor.expiry = new Date(clock.now().getTime() + 10 * 60_000).toISOString();
    try {
      const first = envelope(await client.check());
      expect(first).toMatchObject({ valid: true, source: "vendor" });
      expect(first.ttl).toBeLessThanOrEqual(600);
      expect(first.ttl).toBeGreaterThan(590);
      expect(first.graceUntil).toBe(vendor.expiry);
    } finally {
      vendor.expiry = "2027-12-31T00:00:00.000Z";
    }
  });

  it("makes one vendor request for 100 concurrent checks of one license", async () => {
    const { account } = await licensed();
    const clients = Array.from(
      { length: 100 },
      () => new LicenseCheckClient(t.url, account.username, account.password, account.sipDomain),
    );
    await Promise.all(clients.map((c) => c.challenge()));
    const results = await Promise.all(clients.map((c) => c.check()));
    expect(results.map((r) => r.status)).toEqual(Array(100).fill(200));
    expect(results.every((r) => envelope(r).valid)).toBe(true);
    expect(vendorCalls(account)).toBe(1);
  });

  it("serves a VALID answer as stale while the vendor is down, within the grace period, then says it is beyond grace", async () => {
    const { account, client } = await licensed();
    expect(envelope(await client.check()).source).toBe("vendor");
    await vendor.stop();
    clock.advance(2 * hour);
    const stale = await client.check();
    expect(stale.status).toBe(200);
    expect(envelope(stale)).toMatchObject({ valid: true, code: "VALID", source: "stale" });
    expect(envelope(stale).detail).toMatch(/could not be reached/);

    const details = await op.ok<{ license: Record<string, unknown> }>(
      "GET",
      `/api/v1/accounts/${account.id}`,
    );
    expect(details.license).toMatchObject({ checked: true, source: "stale", code: "VALID" });
    expect(String(details.license.lastFailure)).toMatch(/cannot reach the vendor/);

    clock.advance(2 * 86_400_000);
    const beyond = await client.check();
    expect(beyond.status).toBe(200);
    expect(envelope(beyond)).toMatchObject({ valid: false, code: "GRACE_EXPIRED", source: "stale" });
    expect(envelope(beyond).detail).toMatch(/grace period is over/);

    await vendor.start();
    clock.advance(10_000);
    expect(envelope(await client.check())).toMatchObject({ valid: true, source: "vendor" });
  });

  it("never revives a suspended, expired or banned license from the cache", async () => {
    for (const behaviour of ["suspended", "expired", "banned"] as const) {
      const { client } = await licensed();
      vendor.behaviour = behaviour;
      const first = envelope(await client.check());
      expect(first).toMatchObject({
        valid: false,
        code: behaviour.toUpperCase(),
        source: "vendor",
        graceUntil: null,
      });
      vendor.behaviour = "error500";
      clock.advance(2 * hour);
      const stale = envelope(await client.check());
      expect(stale).toMatchObject({ valid: false, code: behaviour.toUpperCase(), source: "stale" });
      vendor.behaviour = "valid";
      clock.advance(10_000);
    }
  });

  it("times out a slow vendor, retries, and answers 503 when nothing is cached", async () => {
    const { account, client } = await licensed();
    vendor.behaviour = "slow";
    vendor.slowMs = 1500;
    const started = Date.now();
    const result = await client.check();
    expect(result.status).toBe(503);
    expect(result.headers.get("content-type")).toContain("application/problem+json");
    expect(String(result.json.detail)).toMatch(/no answer within 300 ms.*no earlier answer/);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(vendorCalls(account)).toBe(2);
    expect(await storedChecksFor(account)).toBe(0);
  });

  it("retries 500s with backoff and serves the cache as stale", async () => {
    const { account, client } = await licensed();
    await client.check();
    vendor.behaviour = "error500";
    clock.advance(2 * hour);
    const before = vendorCalls(account);
    expect(envelope(await client.check())).toMatchObject({ valid: true, source: "stale" });
    expect(vendorCalls(account) - before).toBe(2);
  });

  async function storedChecksFor(account: LicensedAccount): Promise<number> {
    const rows = await t.db.database.knex("license_checks").where({ fingerprint: account.id });
    return rows.length;
  }

  for (const [behaviour, message] of [
    ["badSignature", /signature does not verify/],
    ["unsigned", /not signed/],
    ["wrongNonce", /another request/],
  ] as const) {
    it(`rejects and never caches a vendor answer with ${behaviour}`, async () => {
      const { account, client } = await licensed();
      vendor.behaviour = behaviour;
      const result = await client.check();
      expect(result.status).toBe(503);
      expect(String(result.json.detail)).toMatch(message);
      expect(await storedChecksFor(account)).toBe(0);
      vendor.behaviour = "valid";
      clock.advance(10_000);
      expect(envelope(await client.check())).toMatchObject({ valid: true, source: "vendor" });
    });
  }

  it("rejects a replayed old answer and does not let it replace the cache", async () => {
    const { account, client } = await licensed();
    vendor.behaviour = "suspended";
    await client.check();
    vendor.behaviour = "valid";
    clock.advance(2 * hour);
    expect(envelope(await client.check())).toMatchObject({ valid: true, source: "vendor" });
    // The vendor's first (signed, genuine) SUSPENDED answer for some license, played back later.
    vendor.behaviour = "replayOld";
    clock.advance(2 * hour);
    const replayed = await client.check();
    expect(envelope(replayed)).toMatchObject({ valid: true, code: "VALID", source: "stale" });
    const details = await op.ok<{ license: Record<string, unknown> }>(
      "GET",
      `/api/v1/accounts/${account.id}`,
    );
    expect(String(details.license.lastFailure)).toMatch(/dated .* from this server's clock|another request/);
  });

  it("accepts a small clock skew and rejects a large one", async () => {
    const { account, client } = await licensed();
    vendor.behaviour = "skewed";
    vendor.skewMs = 60_000;
    expect(envelope(await client.check())).toMatchObject({ valid: true, source: "vendor" });
    vendor.skewMs = -10 * 60_000;
    clock.advance(2 * hour);
    const skewed = await client.check();
    expect(envelope(skewed).source).toBe("stale");
    const other = await licensed();
    const fresh = await other.client.check();
    expect(fresh.status).toBe(503);
    expect(String(fresh.json.detail)).toMatch(/dated .* (599|600|601) s from this server's clock/);
    expect(await storedChecksFor(other.account)).toBe(0);
    expect(vendorCalls(account)).toBeGreaterThan(1);
  });

  it("refreshes ahead of expiry in the background while answering from the cache", async () => {
    const { account, client } = await licensed();
    await client.check();
    clock.advance(hour - 60_000);
    const hit = envelope(await client.check());
    expect(hit.source).toBe("cache");
    await waitFor(() => vendorCalls(account) === 2, "the refresh ahead");
    await waitFor(async () => {
      const row = await t.db.database.knex("license_checks").where({ fingerprint: account.id }).first();
      return new Date(row.checked_at).getTime() > Date.parse(hit.checkedAt);
    }, "the refreshed answer to be stored");
    clock.advance(120_000);
    const after = envelope(await client.check());
    expect(after.source).toBe("cache");
    expect(Date.parse(after.checkedAt)).toBeGreaterThan(Date.parse(hit.checkedAt));
  });

  it("refuses wrong credentials, unknown users and malformed bodies with problem+json and changes nothing", async () => {
    const { account, client } = await licensed();
    const rowsBefore = await storedChecks();
    const callsBefore = vendor.requests.length;

    const noAuth = await client.post({ sipDomain: account.sipDomain });
    expect(noAuth.status).toBe(401);
    expect(noAuth.headers.get("content-type")).toContain("application/problem+json");
    expect(noAuth.headers.get("www-authenticate")).toMatch(new RegExp(`Digest realm="${account.sipDomain}"`));

    await client.challenge();
    const wrong = await client.post(
      { sipDomain: account.sipDomain },
      client.authorization("wrong-Password-1"),
    );
    expect(wrong.status).toBe(401);
    expect(wrong.json.detail).toBe("invalid credentials");

    const stranger = new LicenseCheckClient(t.url, "999999999", "whatever-Pass-1", account.sipDomain);
    await stranger.challenge();
    const unknown = await stranger.post({ sipDomain: account.sipDomain }, stranger.authorization());
    expect(unknown.status).toBe(401);
    expect(unknown.json.detail).toBe("invalid credentials");

    const otherUri = await client.post(
      { sipDomain: account.sipDomain },
      client.authorization(undefined, "/elsewhere"),
    );
    expect(otherUri.status).toBe(401);

    const malformed = await client.post(undefined, undefined, '{"sipDomain": ');
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get("content-type")).toContain("application/problem+json");

    const badField = await client.post({ sipDomain: "not a domain!", extra: 1 });
    expect(badField.status).toBe(400);
    expect((badField.json.errors as Array<{ path: string }>).map((e) => e.path)).toEqual(
      expect.arrayContaining(["body.sipDomain"]),
    );

    expect(await storedChecks()).toBe(rowsBefore);
    expect(vendor.requests.length).toBe(callsBefore);
  });

  it("answers an authenticated check the same on its hot path and through the route table", async () => {
    const { account, client } = await licensed();
    expect(envelope(await client.check()).source).toBe("vendor");
    const hot = await client.check();
    expect(envelope(hot).source).toBe("cache");
    expect(hot.headers.get("x-request-id")).toBeTruthy();
    // A chunked body has no Content-Length, so the same check goes through the Koa route.
    const viaRoute = await new Promise<{ status: number; body: Buffer; headers: Record<string, unknown> }>(
      (resolve, reject) => {
        const req = httpRequest(
          new URL("/license/check", t.url),
          {
            method: "POST",
            headers: {
              "content-type": "application/json",
              "transfer-encoding": "chunked",
              authorization: client.authorization(),
              "x-request-id": "route-check-1",
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () =>
              resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }),
            );
          },
        );
        req.on("error", reject);
        req.write(JSON.stringify({ sipDomain: account.sipDomain }));
        req.end();
      },
    );
    expect(viaRoute.status).toBe(200);
    expect(viaRoute.headers["x-request-id"]).toBe("route-check-1");
    expect(viaRoute.body.equals(hot.bytes)).toBe(true);
    expect(viaRoute.headers["license-signature"]).toBe(hot.headers.get("license-signature"));

    const badJson = await client.post(undefined, client.authorization(), '{"sipDomain": ');
    expect(badJson.status).toBe(400);
    expect(badJson.headers.get("content-type")).toContain("application/problem+json");
    expect(badJson.json).toMatchObject({ status: 400, detail: "the request body is not valid JSON" });
    const badField = await client.post({ sipDomain: "bad domain!" }, client.authorization());
    expect(badField.status).toBe(400);
    expect((badField.json.errors as Array<{ path: string }>).map((e) => e.path)).toEqual(["body.sipDomain"]);

    const logged = t.logs.lines().filter((line) => line.msg === "request" && line.route === "/license/check");
    expect(logged.some((line) => line.requestId === "route-check-1" && line.status === 200)).toBe(true);
    expect(
      logged.some((line) => line.requestId === hot.headers.get("x-request-id") && line.status === 200),
    ).toBe(true);
    const metrics = await fetch(`${t.url}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(
      /provisiond_http_request_duration_seconds_count\{[^}]*route="\/license\/check"[^}]*status="200"/,
    );
  });

  it("checks a kept nonce cheaply but refuses replays, overtaken counts and a changed password", async () => {
    const { account, client } = await licensed();
    expect((await client.check()).status).toBe(200);
    const body = { sipDomain: account.sipDomain };
    const header = client.authorization();
    expect((await client.post(body, header)).status).toBe(200);
    const replay = await client.post(body, header);
    expect(replay.status).toBe(401);
    expect(replay.headers.get("www-authenticate")).toMatch(/stale=true/);
    const later = client.authorization();
    const earlier = client.authorization().replace(/nc=[0-9a-f]{8}/, "nc=00000001");
    expect((await client.post(body, later)).status).toBe(200);
    expect((await client.post(body, earlier)).status).toBe(401);
    // A header for another user with this nonce is not judged by the session: take a new nonce.
    const other = await licensed();
    const foreign = client
      .authorization()
      .replace(`username="${account.username}"`, `username="${other.account.username}"`);
    expect((await client.post(body, foreign)).headers.get("www-authenticate")).toMatch(/stale=true/);

    const newPassword = "another-Secret-7";
    await op.ok("POST", `/api/v1/accounts/${account.id}/reset-password`, { password: newPassword }, 200);
    const oldPassword = await client.post(body, client.authorization());
    expect(oldPassword.status).toBe(401);
    const renewed = new LicenseCheckClient(t.url, account.username, newPassword, account.sipDomain);
    expect((await renewed.check()).status).toBe(200);
    expect((await renewed.check()).status).toBe(200);
    await client.challenge();
    expect((await client.post(body, client.authorization())).status).toBe(401);
  });

  it("refuses a user for a while after repeated wrong passwords, with Retry-After", async () => {
    const { account, client } = await licensed();
    await client.challenge();
    for (let i = 0; i < 10; i++) {
      const wrong = await client.post(
        { sipDomain: account.sipDomain },
        client.authorization("wrong-Password-1"),
      );
      expect(wrong.status).toBe(401);
    }
    const blocked = await client.post({ sipDomain: account.sipDomain }, client.authorization());
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(blocked.headers.get("content-type")).toContain("application/problem+json");
    expect(t.logs.lines().some((line) => line.security === "license.check.rate_limited")).toBe(true);
    clock.advance(301_000);
    expect((await client.check()).status).toBe(200);
  });

  it("answers 409 with the vendor URL for a direct-mode account and 403 for a disabled one", async () => {
    const direct = await licensed({ licenseMode: "direct" });
    const result = await direct.client.check();
    expect(result.status).toBe(409);
    expect(result.headers.get("license-vendor-url")).toBe(vendor.url);
    expect(String(result.json.detail)).toContain(vendor.url);

    const { account, client } = await licensed();
    expect((await client.check()).status).toBe(200);
    await op.ok("POST", `/api/v1/accounts/${account.id}/disable`, { reason: "lost phone" }, 200);
    const disabled = await client.check();
    expect(disabled.status).toBe(403);
    expect(String(disabled.json.detail)).toMatch(/disabled: lost phone/);

    const keyless = await licensed({ licenseKey: null });
    expect((await keyless.client.check()).status).toBe(422);
  });

  it("forces a vendor check from the admin API and shows the license in the account's details", async () => {
    const { account, client } = await licensed();
    const none = await op.ok<{ license: Record<string, unknown> }>("GET", `/api/v1/accounts/${account.id}`);
    expect(none.license).toMatchObject({ checked: false, code: null, licenseMode: "proxy" });

    await client.check();
    vendor.behaviour = "suspended";
    const refreshed = await op.ok<Record<string, unknown>>(
      "POST",
      `/api/v1/accounts/${account.id}/license/refresh`,
      undefined,
      200,
    );
    expect(refreshed).toMatchObject({
      checked: true,
      valid: false,
      code: "SUSPENDED",
      status: "SUSPENDED",
      source: "vendor",
    });
    expect(vendorCalls(account)).toBe(2);
    const details = await op.ok<{ license: Record<string, unknown> }>(
      "GET",
      `/api/v1/accounts/${account.id}`,
    );
    expect(details.license).toMatchObject({
      code: "SUSPENDED",
      expiry: "2027-12-31T00:00:00.000Z",
      lastCheckedAt: refreshed.lastCheckedAt,
      source: "vendor",
    });
    const trail = await op.ok<{ items: Array<{ action: string; after: Record<string, unknown> }> }>(
      "GET",
      `/api/v1/accounts/${account.id}/events`,
    );
    // The test clock stands still, so events of one instant have no order: find it by action.
    expect(trail.items.find((e) => e.action === "account.license_refreshed")).toMatchObject({
      after: { code: "SUSPENDED", source: "vendor" },
    });
    // The client sees the new answer at once.
    expect(envelope(await client.check())).toMatchObject({
      valid: false,
      code: "SUSPENDED",
      source: "cache",
    });

    vendor.behaviour = "error500";
    const down = await op.call("POST", `/api/v1/accounts/${account.id}/license/refresh`);
    expect(down.status).toBe(503);
    expect(String((down.json as { detail: string }).detail)).toMatch(/the vendor answered 500/);
  });

  it("keeps the admin refresh in the caller's scope", async () => {
    const { account } = await licensed();
    const other = await licensed();
    const admin = await op.ok<{ id: string }>("POST", "/api/v1/users", {
      email: `admin-${process.pid}-${Date.now()}@example.com`,
      name: "Admin",
      role: "company_admin",
      organisationId: other.account.organisationId,
    });
    const token = await op.ok<{ token: string }>("POST", `/api/v1/users/${admin.id}/tokens`, {});
    const foreign = await apiClient(t.url, token.token).call(
      "POST",
      `/api/v1/accounts/${account.id}/license/refresh`,
    );
    expect(foreign.status).toBe(404);
    const missing = await op.call(
      "POST",
      "/api/v1/accounts/00000000-0000-4000-8000-000000000000/license/refresh",
    );
    expect(missing.status).toBe(404);
    const badId = await op.call("POST", "/api/v1/accounts/not-a-uuid/license/refresh");
    expect(badId.status).toBe(400);
    expect(vendorCalls(account)).toBe(0);
  });

  it("documents its routes in the OpenAPI document", async () => {
    const doc = (await (await fetch(`${t.url}/api/v1/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { requestBody?: unknown; responses: Record<string, unknown> }>>;
    };
    const check = doc.paths["/license/check"]?.post;
    expect(check?.requestBody).toBeDefined();
    expect(Object.keys(check?.responses ?? {})).toEqual(
      expect.arrayContaining(["200", "400", "401", "403", "409", "503"]),
    );
    expect(doc.paths["/license/public-key"]?.get?.responses["200"]).toBeDefined();
    const refresh = doc.paths["/api/v1/accounts/{id}/license/refresh"]?.post;
    expect(Object.keys(refresh?.responses ?? {})).toEqual(
      expect.arrayContaining(["200", "401", "403", "404", "503"]),
    );
  });

  it("exports cache hit ratio, vendor latency and breaker state", async () => {
    const metrics = await fetch(`${t.url}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/provisiond_license_cache_hit_ratio\{[^}]*\} 0\.\d+/);
    expect(metrics).toMatch(/provisiond_license_cache_lookups_total\{[^}]*result="hit"/);
    expect(metrics).toMatch(/provisiond_license_vendor_request_duration_seconds_count\{[^}]*outcome="ok"/);
    expect(metrics).toMatch(/provisiond_license_vendor_breaker_state\{[^}]*\} 0/);
  });
});

describe(`license vendor circuit breaker on ${databaseKind}`, () => {
  const clock = new ManualClock(new Date());
  const vendor = new VendorSimulator(() => clock.now());
  let t: TestServer;
  let op: ApiClient;

  beforeAll(async () => {
    await vendor.start();
    t = await startTestServer({
      clock,
      config: licenseConfig(vendor, { breakerFailureThreshold: 3, breakerResetSeconds: 60, retries: 0 }),
    });
    op = apiClient(t.url, t.operatorToken);
  });

  afterAll(async () => {
    await t?.stop();
    await vendor.stop();
  });

  it("stops calling a failing vendor, then tries again after the reset time", async () => {
    const accounts = await Promise.all([1, 2, 3, 4, 5].map(() => createLicensedAccount(op)));
    const clients = accounts.map((a) => new LicenseCheckClient(t.url, a.username, a.password, a.sipDomain));
    vendor.behaviour = "error500";
    for (const client of clients.slice(0, 3)) expect((await client.check()).status).toBe(503);
    expect(vendor.requests.length).toBe(3);
    const metrics = await fetch(`${t.url}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/provisiond_license_vendor_breaker_state\{[^}]*\} 2/);

    const refused = await clients[3]?.check();
    expect(refused?.status).toBe(503);
    expect(String(refused?.json.detail)).toMatch(/paused until/);
    expect(vendor.requests.length).toBe(3);

    vendor.behaviour = "valid";
    clock.advance(61_000);
    expect(envelope((await clients[4]?.check()) as CheckResult)).toMatchObject({
      valid: true,
      source: "vendor",
    });
    expect(vendor.requests.length).toBe(4);
  });
});

describe(`license proxy without a vendor on ${databaseKind}`, () => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer({ config: licenseConfig(null) });
  });

  afterAll(async () => {
    await t?.stop();
  });

  it("answers 503 problem+json saying no vendor is configured, and still publishes its key", async () => {
    const op = apiClient(t.url, t.operatorToken);
    const account = await createLicensedAccount(op);
    const client = new LicenseCheckClient(t.url, account.username, account.password, account.sipDomain);
    const result = await client.check();
    expect(result.status).toBe(503);
    expect(result.headers.get("content-type")).toContain("application/problem+json");
    expect(String(result.json.detail)).toMatch(
      /no vendor license server is configured \(license\.vendorUrl\)/,
    );
    const key = await op.ok<{ algorithm: string; publicKeyRaw: string }>("GET", "/license/public-key");
    expect(key.algorithm).toBe("Ed25519");
    expect(Buffer.from(key.publicKeyRaw, "base64url")).toHaveLength(32);
  });
});
