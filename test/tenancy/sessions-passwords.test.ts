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

describe(`invitations and password resets on ${databaseKind}`, { timeout: 180_000 }, () => {
  let t: TestServer;
  let op: ApiClient;
  const clock = new ManualClock(new Date("2026-12-03T08:00:00Z"));
  let organisationId: string;
  const publicUrl = "http://console.example.test:8080";

  beforeAll(async () => {
    t = await startTestServer({ clock, config: { messaging: { publicUrl } } });
    op = apiClient(t.url, t.operatorToken);
    organisationId = (await op.ok<{ id: string }>("POST", "/api/v1/organisations", { name: unique("Org") }))
      .id;
  });
  afterAll(async () => {
    await t?.stop();
  });

  async function newUser(): Promise<{ id: string; email: string }> {
    const email = `${unique("user")}@example.com`;
    const user = await op.ok<{ id: string }>("POST", "/api/v1/users", {
      email,
      name: "Portal User",
      role: "company_admin",
      organisationId,
    });
    return { id: user.id, email };
  }

  /** The newest e-mail of a kind to a recipient, as the outbox holds it. */
  async function lastEmail(kind: string, to: string) {
    return t.db.database
      .knex("outbox_messages")
      .where({ kind, recipient: to })
      .orderBy("created_at", "desc")
      .first();
  }
  const tokenOf = (link: string) => {
    expect(link.startsWith(`${publicUrl}/console/password/`), link).toBe(true);
    return link.slice(`${publicUrl}/console/password/`.length);
  };

  const post = (path: string, body: unknown) =>
    fetch(`${t.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const signInStatus = async (email: string, password: string) =>
    (await post("/api/v1/sessions", { email, password })).status;

  it("invites a user by e-mail; the link sets the password once, a second use is 410", async () => {
    const user = await newUser();
    expect(await signInStatus(user.email, "no password yet at all")).toBe(401);
    const invitation = await op.ok<{ messageId: string; expiresAt: string }>(
      "POST",
      `/api/v1/users/${user.id}/invitation`,
      undefined,
      202,
    );
    expect(invitation.expiresAt).toBe("2026-12-10T08:00:00.000Z");
    const email = await lastEmail("console_invitation", user.email);
    expect(email).toMatchObject({
      id: invitation.messageId,
      channel: "email",
      organisation_id: organisationId,
    });
    const token = tokenOf((email.variables as { link: string }).link);
    // Only the token's SHA-256 is kept.
    const stored = await t.db.database.knex("password_tokens").where({ user_id: user.id });
    expect(JSON.stringify(stored)).not.toContain(token);

    const set = await post(`/api/v1/password-reset/${token}`, { password: "my first console password" });
    expect(set.status, await set.clone().text()).toBe(204);
    await signIn(t.url, user.email, "my first console password");

    const again = await post(`/api/v1/password-reset/${token}`, { password: "a password set twice over" });
    expect(again.status).toBe(410);
    expect(await signInStatus(user.email, "a password set twice over")).toBe(401);
    const audit = await t.db.database
      .knex("audit_events")
      .where({ target_id: user.id })
      .whereIn("action", ["user.invited", "user.password_set"]);
    expect(audit.map((e) => e.action).sort()).toEqual(["user.invited", "user.password_set"]);
  });

  it("refuses a too short password with a 400 naming the field, and the link still works", async () => {
    const user = await newUser();
    await op.ok("POST", `/api/v1/users/${user.id}/invitation`, undefined, 202);
    const token = tokenOf(
      ((await lastEmail("console_invitation", user.email)).variables as { link: string }).link,
    );
    const weak = await post(`/api/v1/password-reset/${token}`, { password: "short" });
    expect(weak.status).toBe(400);
    const problem = (await weak.json()) as Problem;
    expect(problem.errors?.[0]).toMatchObject({
      path: "body.password",
      message: "must be at least 12 characters",
    });
    expect(await t.db.database.knex("user_passwords").where({ user_id: user.id })).toEqual([]);
    expect((await post(`/api/v1/password-reset/${token}`, { password: "long enough password" })).status).toBe(
      204,
    );
  });

  it("answers an unknown link 404 and an expired one 410 (injected clock)", async () => {
    expect(
      (await post("/api/v1/password-reset/never-issued-token", { password: "long enough password" })).status,
    ).toBe(404);
    const user = await newUser();
    await op.ok("POST", `/api/v1/users/${user.id}/invitation`, undefined, 202);
    const token = tokenOf(
      ((await lastEmail("console_invitation", user.email)).variables as { link: string }).link,
    );
    clock.advance(7 * 86_400_000 + 1000);
    const expired = await post(`/api/v1/password-reset/${token}`, { password: "long enough password" });
    expect(expired.status).toBe(410);
    expect(((await expired.json()) as Problem).detail).toMatch(/expired/);
  });

  it("resets a forgotten password by e-mail, ends the user's sessions, and says the same for unknown e-mails", async () => {
    const user = await newUser();
    await setUserPassword(t, user.email, "the forgotten password");
    const session = await signIn(t.url, user.email, "the forgotten password");

    const known = await post("/api/v1/password-reset", { email: user.email });
    const unknown = await post("/api/v1/password-reset", { email: `${unique("nobody")}@example.com` });
    expect(known.status).toBe(202);
    expect(unknown.status).toBe(202);
    expect(await known.text()).toBe(await unknown.text());

    const email = await lastEmail("password_reset", user.email);
    expect(email).toBeDefined();
    const token = tokenOf((email.variables as { link: string }).link);
    // The reset link lives an hour.
    clock.advance(59 * 60 * 1000);
    expect(
      (await post(`/api/v1/password-reset/${token}`, { password: "the remembered password" })).status,
    ).toBe(204);
    expect((await cookieClient(t.url, session.cookie, null)("GET", "/api/v1/me")).status).toBe(401);
    expect(await signInStatus(user.email, "the forgotten password")).toBe(401);
    await signIn(t.url, user.email, "the remembered password");
  });

  it("sends no reset to an inactive user, and a newer link supersedes an older one", async () => {
    const user = await newUser();
    await op.ok("PATCH", `/api/v1/users/${user.id}`, { active: false });
    expect((await post("/api/v1/password-reset", { email: user.email })).status).toBe(202);
    expect(await lastEmail("password_reset", user.email)).toBeUndefined();
    const refused = await op.call("POST", `/api/v1/users/${user.id}/invitation`);
    expect(refused.status).toBe(409);

    await op.ok("PATCH", `/api/v1/users/${user.id}`, { active: true });
    await op.ok("POST", `/api/v1/users/${user.id}/invitation`, undefined, 202);
    const first = tokenOf(
      ((await lastEmail("console_invitation", user.email)).variables as { link: string }).link,
    );
    await post("/api/v1/password-reset", { email: user.email });
    const second = tokenOf(
      ((await lastEmail("password_reset", user.email)).variables as { link: string }).link,
    );
    expect((await post(`/api/v1/password-reset/${first}`, { password: "long enough password" })).status).toBe(
      410,
    );
    expect(
      (await post(`/api/v1/password-reset/${second}`, { password: "long enough password" })).status,
    ).toBe(204);
  });

  it("lets no one invite a user outside their scope (404, no e-mail)", async () => {
    const user = await newUser();
    const other = (await op.ok<{ id: string }>("POST", "/api/v1/organisations", { name: unique("Other") }))
      .id;
    const adminEmail = `${unique("other-admin")}@example.com`;
    const otherAdmin = await op.ok<{ id: string }>("POST", "/api/v1/users", {
      email: adminEmail,
      name: "Other admin",
      role: "company_admin",
      organisationId: other,
    });
    const token = await op.ok<{ token: string }>("POST", `/api/v1/users/${otherAdmin.id}/tokens`, {});
    const outsider = apiClient(t.url, token.token);
    expect((await outsider.call("POST", `/api/v1/users/${user.id}/invitation`)).status).toBe(404);
    expect(await lastEmail("console_invitation", user.email)).toBeUndefined();
  });
});
