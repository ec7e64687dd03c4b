import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { startServer } from "../../src/main.js";
import { hashApiToken } from "../../src/tenancy/api-token.js";
import { TenancyService } from "../../src/tenancy/service.js";
import { testConfig } from "../support/config.js";
import { databaseKind } from "../support/database.js";
import { captureLogs } from "../support/logs.js";
import { startTestServer, type TestServer } from "../support/server.js";

describe(`API tokens on ${databaseKind}`, () => {
  let t: TestServer | undefined;
  afterEach(async () => {
    await t?.stop();
    t = undefined;
  });

  const me = (url: string, token: string) =>
    fetch(`${url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });

  it("creates the initial operator and its token on the first start only, storing only its hash", async () => {
    t = await startTestServer();
    const response = await me(t.url, t.operatorToken);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ email: "operator@localhost", role: "operator" });

    const knex = t.db.database.knex;
    const tokens = await knex("api_tokens").select("token_hash", "last_used_at");
    expect(tokens).toEqual([{ token_hash: hashApiToken(t.operatorToken), last_used_at: expect.any(Date) }]);
    expect(JSON.stringify(await knex("audit_events").select("*"))).not.toContain(t.operatorToken);
    expect(t.logs.text()).not.toContain(t.operatorToken);
    const actions = (await knex("audit_events").orderBy("occurred_at").select("action")).map((r) => r.action);
    // The first start also makes the one-time link that sets the operator's console password.
    expect(actions.sort()).toEqual(["token.created", "user.created", "user.invited"]);

    // A second server on the same database prints nothing new.
    let second: string | undefined;
    const again = await startServer({
      config: testConfig(),
      logger: captureLogs().logger,
      database: t.db.database,
      onInitialToken: (issued) => {
        second = issued.token;
      },
    });
    await again.close();
    expect(second).toBeUndefined();
    expect(await knex("users").count({ n: "*" })).toEqual([{ n: databaseKind === "postgres" ? "1" : 1 }]);
  });

  it("refuses tokens that are wrong, expired, revoked or of an inactive user", async () => {
    const clock = new ManualClock(new Date("2026-11-22T10:00:00Z"));
    t = await startTestServer({ clock });
    const tenancy = new TenancyService(t.db.database, clock);
    const expiring = await tenancy.issueTokenFromCli({
      role: "operator",
      expiresAt: new Date("2026-11-22T11:00:00Z"),
    });
    expect((await me(t.url, expiring.token)).status).toBe(200);
    clock.advance(60 * 60 * 1000);
    expect((await me(t.url, expiring.token)).status).toBe(401);

    expect((await me(t.url, `${t.operatorToken.slice(0, -2)}xx`)).status).toBe(401);
    expect((await me(t.url, "not-even-a-token")).status).toBe(401);

    const knex = t.db.database.knex;
    await knex("api_tokens")
      .where({ token_hash: hashApiToken(t.operatorToken) })
      .update({ revoked_at: clock.now() });
    expect((await me(t.url, t.operatorToken)).status).toBe(401);

    const other = await tenancy.issueTokenFromCli({ role: "operator" });
    expect((await me(t.url, other.token)).status).toBe(200);
    await knex("users").update({ active: false });
    const refused = await me(t.url, other.token);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { detail: string }).detail).toBe("the API token is not valid");
  });

  it("issues command-line tokens only for existing users of the named role", async () => {
    t = await startTestServer();
    const tenancy = new TenancyService(t.db.database, new ManualClock());
    await expect(tenancy.issueTokenFromCli({ role: "company_admin" })).rejects.toThrow(
      /no company_admin user/,
    );
    await expect(
      tenancy.issueTokenFromCli({ role: "company_admin", email: "operator@localhost" }),
    ).rejects.toThrow(/has role operator/);
    const created = await tenancy.issueTokenFromCli({ role: "operator", email: "ops@example.com" });
    expect(created.email).toBe("ops@example.com");
    expect((await me(t.url, created.token)).status).toBe(200);
  });
});
