import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { type ApiClient, apiClient } from "../support/api.js";
import { databaseKind } from "../support/database.js";
import { setUserPassword } from "../support/passwords.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { cookieClient, signIn } from "../support/sessions.js";

interface Problem {
  type: string;
  status: number;
  detail: string;
  errors?: Array<{ path: string; message: string }>;
}

let seq = 0;
const unique = (prefix: string) => `${prefix}-${process.pid}-${++seq}`;
const password = "correct horse battery staple";

// Every sign-in hashes with the real scrypt parameters (32 MiB each): a loaded machine needs the time.
describe(`console sessions on ${databaseKind}`, { timeout: 180_000 }, () => {
  let t: TestServer;
  let op: ApiClient;
  const clock = new ManualClock(new Date("2026-12-03T08:00:00Z"));
  let organisationId: string;

  beforeAll(async () => {
    t = await startTestServer({ clock });
    op = apiClient(t.url, t.operatorToken);
    organisationId = (await op.ok<{ id: string }>("POST", "/api/v1/organisations", { name: unique("Org") }))
      .id;
  });
  afterAll(async () => {
    await t?.stop();
  });

  async function companyAdmin(): Promise<{ id: string; email: string }> {
    const email = `${unique("admin")}@example.com`;
    const user = await op.ok<{ id: string }>("POST", "/api/v1/users", {
      email,
      name: "Company admin",
      role: "company_admin",
      organisationId,
    });
    await setUserPassword(t, email, password);
    return { id: user.id, email };
  }

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${t.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    });

  it("signs in with the password setUserPassword set, and the cookie is HttpOnly, SameSite=Strict, not Secure over HTTP", async () => {
    const user = await companyAdmin();
    const session = await signIn(t.url, user.email.toUpperCase(), password);
    expect(session.setCookie).toMatch(/; Path=\/(;|$)/);
    expect(session.setCookie).toMatch(/; HttpOnly(;|$)/);
    expect(session.setCookie).toMatch(/; SameSite=Strict(;|$)/);
    expect(session.setCookie).not.toMatch(/Secure/);

    const call = cookieClient(t.url, session.cookie, null);
    const current = await call("GET", "/api/v1/sessions/current");
    expect(current.status, current.text).toBe(200);
    expect(current.json).toMatchObject({
      id: session.sessionId,
      user: { id: user.id, email: user.email, role: "company_admin" },
      csrfToken: session.csrfToken,
    });
    // The same routes and scope as a bearer token of the user.
    const me = await call("GET", "/api/v1/me");
    expect(me.json).toMatchObject({ userId: user.id, tokenId: null, sessionId: session.sessionId });
    const orgs = await call("GET", "/api/v1/organisations");
    expect((orgs.json as { items: Array<{ id: string }> }).items.map((o) => o.id)).toEqual([organisationId]);
  });

  it("refuses a wrong password and an unknown e-mail with the same 401, and audits both", async () => {
    const user = await companyAdmin();
    const wrong = await post("/api/v1/sessions", { email: user.email, password: "not the password" });
    const unknown = await post("/api/v1/sessions", { email: `${unique("nobody")}@example.com`, password });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    const a = (await wrong.json()) as Problem;
    const b = (await unknown.json()) as Problem;
    expect(a.detail).toBe(b.detail);
    expect(a.type).toBe(b.type);
    expect(wrong.headers.get("set-cookie")).toBeNull();
    const refusals = await t.db.database.knex("audit_events").where({ action: "session.refused" });
    expect(refusals.map((e) => (e.after as { reason: string }).reason)).toEqual(
      expect.arrayContaining(["wrong-password", "unknown-email"]),
    );
    expect(t.logs.lines().filter((l) => l.security === "sign-in-refused").length).toBeGreaterThanOrEqual(2);
  });

  it("sets a Secure cookie when the console is served over HTTPS", async () => {
    const https = await startTestServer({
      config: { messaging: { publicUrl: "https://console.example.com" } },
    });
    try {
      await setUserPassword(https, "operator@localhost", password);
      const session = await signIn(https.url, "operator@localhost", password);
      expect(session.setCookie).toMatch(/; Secure(;|$)/);
    } finally {
      await https.stop();
    }
  });

  it("refuses an unsafe cookie request without or with a wrong CSRF token, and changes nothing", async () => {
    const user = await companyAdmin();
    const session = await signIn(t.url, user.email, password);
    const before = await op.ok<{ name: string }>("GET", `/api/v1/users/${user.id}`);
    for (const token of [null, "wrong-token"]) {
      const call = cookieClient(t.url, session.cookie, token);
      const refused = await call("PATCH", `/api/v1/users/${user.id}`, { name: "Changed by a forgery" });
      expect(refused.status, refused.text).toBe(403);
      expect((refused.json as Problem).type).toMatch(/\/csrf$/);
    }
    // A page of another site is refused even with the token (Sec-Fetch-Site, Origin).
    const withToken = cookieClient(t.url, session.cookie, session.csrfToken);
    const crossSite = await withToken(
      "PATCH",
      `/api/v1/users/${user.id}`,
      { name: "Cross-site" },
      { "sec-fetch-site": "cross-site" },
    );
    expect(crossSite.status).toBe(403);
    const otherOrigin = await withToken(
      "PATCH",
      `/api/v1/users/${user.id}`,
      { name: "Other origin" },
      { origin: "https://evil.example" },
    );
    expect(otherOrigin.status).toBe(403);
    expect((await op.ok<{ name: string }>("GET", `/api/v1/users/${user.id}`)).name).toBe(before.name);

    const allowed = await withToken(
      "PATCH",
      `/api/v1/users/${user.id}`,
      { name: "Changed by the console" },
      { origin: t.url, "sec-fetch-site": "same-origin" },
    );
    expect(allowed.status, allowed.text).toBe(200);
    expect((await op.ok<{ name: string }>("GET", `/api/v1/users/${user.id}`)).name).toBe(
      "Changed by the console",
    );
    // The change is the user's, through their session, in the audit trail.
    const audit = await t.db.database
      .knex("audit_events")
      .where({ action: "user.updated", target_id: user.id });
    expect(audit.at(-1)).toMatchObject({ actor_user_id: user.id, actor_token_id: null });
  });

  it("signs out: the cookie is cleared and the old one is dead", async () => {
    const user = await companyAdmin();
    const session = await signIn(t.url, user.email, password);
    const call = cookieClient(t.url, session.cookie, session.csrfToken);
    const out = await call("DELETE", "/api/v1/sessions/current");
    expect(out.status, out.text).toBe(204);
    expect(out.headers.get("set-cookie")).toMatch(/^provisiond_session=;.*Max-Age=0/);
    expect((await call("GET", "/api/v1/me")).status).toBe(401);
    expect((await call("GET", "/api/v1/sessions/current")).status).toBe(401);
    expect((await call("DELETE", "/api/v1/sessions/current")).status).toBe(401);
  });

  it("lists the user's own sessions and ends another one (force log-out)", async () => {
    const user = await companyAdmin();
    const laptop = await signIn(t.url, user.email, password);
    const phone = await signIn(t.url, user.email, password);
    const other = await companyAdmin();
    const stranger = await signIn(t.url, other.email, password);

    const call = cookieClient(t.url, laptop.cookie, laptop.csrfToken);
    const list = await call("GET", "/api/v1/sessions");
    const items = (
      list.json as { items: Array<{ id: string; current: boolean; userAgent: string; address: string }> }
    ).items;
    expect(items.map((i) => i.id).sort()).toEqual([laptop.sessionId, phone.sessionId].sort());
    expect(items.find((i) => i.id === laptop.sessionId)).toMatchObject({
      current: true,
      userAgent: "vitest console",
    });
    expect(items.find((i) => i.id === phone.sessionId)?.current).toBe(false);

    // Another user's session is not found, and goes on working.
    expect((await call("DELETE", `/api/v1/sessions/${stranger.sessionId}`)).status).toBe(404);
    expect((await cookieClient(t.url, stranger.cookie, null)("GET", "/api/v1/me")).status).toBe(200);

    const ended = await call("DELETE", `/api/v1/sessions/${phone.sessionId}`);
    expect(ended.status, ended.text).toBe(204);
    expect((await cookieClient(t.url, phone.cookie, null)("GET", "/api/v1/me")).status).toBe(401);
    expect((await call("GET", "/api/v1/me")).status).toBe(200);
  });

  it("does not sign in an inactive user, and deactivating or deleting a user ends their sessions", async () => {
    const user = await companyAdmin();
    const session = await signIn(t.url, user.email, password);
    await op.ok("PATCH", `/api/v1/users/${user.id}`, { active: false });
    expect((await cookieClient(t.url, session.cookie, null)("GET", "/api/v1/me")).status).toBe(401);
    const refused = await post("/api/v1/sessions", { email: user.email, password });
    expect(refused.status).toBe(401);
    expect(await t.db.database.knex("console_sessions").where({ user_id: user.id })).toEqual([]);

    await op.ok("PATCH", `/api/v1/users/${user.id}`, { active: true });
    const again = await signIn(t.url, user.email, password);
    await op.ok("DELETE", `/api/v1/users/${user.id}`);
    expect((await cookieClient(t.url, again.cookie, null)("GET", "/api/v1/me")).status).toBe(401);
  });

  it("ends a session after its idle time and after its absolute time, on the injected clock", async () => {
    const user = await companyAdmin();
    const idle = await signIn(t.url, user.email, password);
    clock.advance(59 * 60 * 1000);
    expect((await cookieClient(t.url, idle.cookie, null)("GET", "/api/v1/me")).status).toBe(200);
    clock.advance(59 * 60 * 1000);
    // Used 59 minutes ago: still within the hour of idle time.
    expect((await cookieClient(t.url, idle.cookie, null)("GET", "/api/v1/me")).status).toBe(200);
    clock.advance(61 * 60 * 1000);
    expect((await cookieClient(t.url, idle.cookie, null)("GET", "/api/v1/me")).status).toBe(401);

    const busy = await signIn(t.url, user.email, password);
    for (let hour = 0; hour < 11; hour++) {
      clock.advance(60 * 60 * 1000 - 1000);
      expect((await cookieClient(t.url, busy.cookie, null)("GET", "/api/v1/me")).status).toBe(200);
    }
    clock.advance(60 * 60 * 1000);
    // Twelve hours after sign-in, however busy.
    expect((await cookieClient(t.url, busy.cookie, null)("GET", "/api/v1/me")).status).toBe(401);
  });

  it("throttles failures per account and per address with 429 and Retry-After", async () => {
    const user = await companyAdmin();
    for (let i = 0; i < 5; i++) {
      expect((await post("/api/v1/sessions", { email: user.email, password: `wrong ${i}` })).status).toBe(
        401,
      );
    }
    // Blocked now, even with the right password.
    const blocked = await post("/api/v1/sessions", { email: user.email, password });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(t.logs.lines().some((l) => l.security === "sign-in-throttled")).toBe(true);
    clock.advance(15 * 60 * 1000);
    await signIn(t.url, user.email, password);

    // One address trying many accounts is stopped too.
    clock.advance(15 * 60 * 1000);
    const statuses: number[] = [];
    for (let i = 0; i < 21; i++) {
      statuses.push(
        (await post("/api/v1/sessions", { email: `${unique("guess")}@example.com`, password })).status,
      );
    }
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(statuses[20]).toBe(429);
    clock.advance(15 * 60 * 1000);
  });

  it("keeps bearer tokens working unchanged, without CSRF tokens, beside a cookie", async () => {
    const user = await companyAdmin();
    const session = await signIn(t.url, user.email, password);
    const changed = await fetch(`${t.url}/api/v1/users/${user.id}`, {
      method: "PATCH",
      headers: {
        authorization: `Bearer ${t.operatorToken}`,
        cookie: session.cookie,
        "content-type": "application/json",
      },
      body: JSON.stringify({ name: "Renamed by the operator" }),
    });
    expect(changed.status).toBe(200);
    expect(await op.ok("GET", "/api/v1/me")).toMatchObject({ tokenId: expect.any(String), sessionId: null });
    expect((await op.call("GET", "/api/v1/sessions/current")).status).toBe(404);
  });

  it("changes the user's own password: the current session goes on, the others end", async () => {
    const user = await companyAdmin();
    const here = await signIn(t.url, user.email, password);
    const elsewhere = await signIn(t.url, user.email, password);
    const call = cookieClient(t.url, here.cookie, here.csrfToken);

    const wrong = await call("POST", "/api/v1/me/password", {
      currentPassword: "not the password",
      password: "a brand new password",
    });
    expect(wrong.status).toBe(400);
    expect((wrong.json as Problem).errors?.[0]?.path).toBe("body.currentPassword");
    expect((await cookieClient(t.url, elsewhere.cookie, null)("GET", "/api/v1/me")).status).toBe(200);

    const changed = await call("POST", "/api/v1/me/password", {
      currentPassword: password,
      password: "a brand new password",
    });
    expect(changed.status, changed.text).toBe(204);
    expect((await call("GET", "/api/v1/me")).status).toBe(200);
    expect((await cookieClient(t.url, elsewhere.cookie, null)("GET", "/api/v1/me")).status).toBe(401);
    expect((await post("/api/v1/sessions", { email: user.email, password })).status).toBe(401);
    await signIn(t.url, user.email, "a brand new password");
  });

  it("answers bad sign-in input with a 400 naming the field", async () => {
    const response = await post("/api/v1/sessions", { email: "x@example.com" });
    expect(response.status).toBe(400);
    expect(((await response.json()) as Problem).errors?.[0]?.path).toBe("body.password");
  });
});
