import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AccountBody, createTenant, type Problem, type Tenant } from "../accounts/fixtures.js";
import { type ApiClient, apiClient } from "../support/api.js";
import { databaseKind } from "../support/database.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { type MessageBody, messagesOf, waitForStatus } from "./support.js";

const appLinks = {
  ios: "https://apps.apple.com/app/pgsm/id1",
  android: "https://play.google.com/store/apps/details?id=pgsm",
};

describe(`messages on the log gateway and the in-process queue, on ${databaseKind}`, () => {
  let t: TestServer;
  let op: ApiClient;
  let tenant: Tenant;

  beforeAll(async () => {
    t = await startTestServer({
      config: {
        messaging: {
          publicUrl: "https://prov.example.net",
          sweepMs: 50,
          sms: { reachablePrefixes: "+41,+33" },
        },
      },
    });
    op = apiClient(t.url, t.operatorToken);
    tenant = await createTenant(op, { appLinks, announcementLanguage: "fr" });
  });
  afterAll(() => t.stop());

  const knex = () => t.db.database.knex;
  const createAccount = (body: Record<string, unknown>) =>
    op.ok<AccountBody>("POST", "/api/v1/accounts", { groupId: tenant.groupId, type: "PGSM", ...body });
  const counts = async () => ({
    outbox: Number((await knex()("outbox_messages").count<{ n: string }[]>({ n: "*" }))[0]?.n),
    tokens: Number((await knex()("activation_tokens").count<{ n: string }[]>({ n: "*" }))[0]?.n),
  });

  it("sends an installation SMS: queued with the action, written to the log, listed with its history, in the profile's language", async () => {
    const account = await createAccount({ mode: "wizard", phoneNumber: "+41 79 123 45 67" });
    const queued = await op.ok<MessageBody>("POST", `/api/v1/accounts/${account.id}/installation-sms`);
    expect(queued).toMatchObject({
      kind: "installation_sms",
      channel: "sms",
      to: "+41791234567",
      status: "queued",
    });
    expect(queued.text).toMatch(
      /^Org-.*: installez l'application de téléphonie sécurisée : https:\/\/prov\.example\.net\/i\/[A-Za-z0-9_-]+$/,
    );
    // é is in the GSM-7 alphabet: one 7-bit segment.
    expect([queued.encoding, queued.segments]).toEqual(["GSM-7", 1]);
    const sent = await waitForStatus(op, account.id, queued.id, "sent");
    expect(sent.gateway).toBe("log");
    expect(sent.history.map((h) => h.status)).toEqual(["queued", "sending", "sent"]);
    expect(t.logs.text()).toContain("message written to the log instead of being sent");

    const details = await op.ok<{ messages: MessageBody[]; recentEvents: Array<{ action: string }> }>(
      "GET",
      `/api/v1/accounts/${account.id}`,
    );
    expect(details.messages.map((m) => m.id)).toEqual([queued.id]);
    expect(details.recentEvents.map((e) => e.action)).toContain("account.installation_sms_queued");
  });

  it("redirects a click on the installation link by platform and records it on the message", async () => {
    const account = await createAccount({ mode: "wizard", phoneNumber: "+33612345678" });
    const queued = await op.ok<MessageBody>("POST", `/api/v1/accounts/${account.id}/installation-sms`);
    const path = new URL(/https:\S+/.exec(queued.text as string)?.[0] as string).pathname;
    const iphone = await fetch(`${t.url}${path}`, {
      redirect: "manual",
      headers: { "user-agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)" },
    });
    expect([iphone.status, iphone.headers.get("location")]).toEqual([302, appLinks.ios]);
    const android = await fetch(`${t.url}${path}`, {
      redirect: "manual",
      headers: { "user-agent": "Mozilla/5.0 (Linux; Android 14; Pixel 8)" },
    });
    expect([android.status, android.headers.get("location")]).toEqual([302, appLinks.android]);
    const desktop = await fetch(`${t.url}${path}`, {
      redirect: "manual",
      headers: { "user-agent": "curl/8" },
    });
    expect(desktop.status).toBe(200);
    const page = await desktop.text();
    expect(page).toContain(appLinks.ios);
    expect(page).toContain(appLinks.android.replace(/&/g, "&#38;"));

    const [message] = await messagesOf(op, account.id);
    expect(message).toMatchObject({ status: "clicked", clickPlatform: "unknown" });
    expect(message?.history.filter((h) => h.status === "clicked").map((h) => h.detail)).toEqual([
      "clicked on ios",
      "clicked on android",
      "clicked on unknown",
    ]);
    const unknown = await fetch(`${t.url}/i/nosuchcode`, { redirect: "manual" });
    expect(unknown.status).toBe(404);
  });

  it("activation SMS: a one-time link whose SHA-256 alone is stored; a new link invalidates the old", async () => {
    const account = await createAccount({ mode: "wizard", phoneNumber: "+41791112233" });
    const first = await op.ok<MessageBody>("POST", `/api/v1/accounts/${account.id}/activation-sms`);
    expect(first.text).toMatch(/valable jusqu'au \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    const token = /\/a\/([A-Za-z0-9_-]+)/.exec(first.text as string)?.[1] as string;
    const rows = await knex()("activation_tokens").where({ account_id: account.id });
    expect(rows).toHaveLength(1);
    expect(rows[0].token_sha256).toBe(createHash("sha256").update(token).digest("hex"));
    expect(JSON.stringify(rows)).not.toContain(token);
    const validity = new Date(rows[0].expires_at).getTime() - new Date(rows[0].created_at).getTime();
    expect(validity).toBe(72 * 3600 * 1000);

    const link = await op.ok<{ url: string; expiresAt: string; qrSvg: string; message: null }>(
      "POST",
      `/api/v1/accounts/${account.id}/activation-link`,
    );
    expect(link.url).toMatch(/^https:\/\/prov\.example\.net\/a\/[A-Za-z0-9_-]{43}$/);
    expect(link.qrSvg).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
    expect(link.message).toBeNull();
    const after = await knex()("activation_tokens").where({ account_id: account.id }).orderBy("created_at");
    expect(after.map((r: { invalidated_at: Date | null }) => r.invalidated_at !== null)).toEqual([
      true,
      false,
    ]);
  });

  it("activation link by e-mail goes through the e-mail transport (log by default)", async () => {
    const account = await createAccount({ mode: "manual" });
    const link = await op.ok<{ url: string; message: MessageBody }>(
      "POST",
      `/api/v1/accounts/${account.id}/activation-link`,
      {
        email: "tablet-user@example.net",
      },
    );
    expect(link.message).toMatchObject({
      channel: "email",
      kind: "activation_email",
      to: "tablet-user@example.net",
    });
    expect(link.message.subject).toMatch(/activez votre téléphone sécurisé/);
    expect(link.message.text).toContain(link.url);
    const sent = await waitForStatus(op, account.id, link.message.id, "sent");
    expect(sent.gateway).toBe("email-log");
  });

  it("refuses cleanly, with nothing queued: no phone number, SNOM, disabled, unreachable number, bad e-mail", async () => {
    const before = await counts();
    const noPhone = await createAccount({ mode: "manual" });
    const snom = await op.ok<AccountBody>("POST", "/api/v1/accounts", {
      groupId: tenant.groupId,
      type: "SNOM",
      macAddress: "00:04:13:aa:bb:01",
      phoneNumber: "+41791110000",
    });
    const disabled = await createAccount({ mode: "wizard", phoneNumber: "+41791110001" });
    await op.ok("POST", `/api/v1/accounts/${disabled.id}/disable`, { reason: "lost phone" }, 200);
    const abroad = await createAccount({ mode: "wizard", phoneNumber: "+12025550100" });
    const cases: Array<[string, string, string]> = [
      [noPhone.id, "installation-sms", "phoneNumber: the account has no phone number"],
      [noPhone.id, "activation-sms", "phoneNumber: the account has no phone number"],
      [snom.id, "installation-sms", "type: a SNOM account has no app"],
      [snom.id, "activation-link", "type: a SNOM account has no app"],
      [disabled.id, "activation-sms", "status: the account is disabled"],
      [abroad.id, "installation-sms", "phoneNumber: +12025550100 cannot be reached through the SMS gateway"],
    ];
    for (const [id, action, detail] of cases) {
      const refused = await op.call("POST", `/api/v1/accounts/${id}/${action}`);
      expect(refused.status, `${action}: ${refused.text}`).toBe(422);
      expect(refused.headers.get("content-type")).toContain("application/problem+json");
      expect((refused.json as Problem).detail).toContain(detail);
    }
    const badEmail = await op.call("POST", `/api/v1/accounts/${noPhone.id}/activation-link`, {
      email: "nope",
    });
    expect(badEmail.status).toBe(400);
    expect((badEmail.json as Problem).errors?.map((e) => e.path)).toEqual(["body.email"]);
    expect(await counts()).toEqual(before);
  });

  it("templates: an organisation's override is used; one that would not render is refused; too many segments are refused", async () => {
    const path = `/api/v1/organisations/${tenant.organisationId}/message-templates/installation_sms/fr`;
    const unknown = await op.call("PUT", path, { body: "Bonjour {prenom}: {link}" });
    expect(unknown.status).toBe(400);
    expect((unknown.json as Problem).errors).toEqual([
      {
        path: "body.body",
        message: expect.stringContaining("{prenom} is not a placeholder of installation_sms"),
      },
    ]);
    const withSubject = await op.call("PUT", path, { subject: "x", body: "{link}" });
    expect((withSubject.json as Problem).errors?.[0]?.path).toBe("body.subject");
    const badKind = await op.call(
      "PUT",
      `/api/v1/organisations/${tenant.organisationId}/message-templates/nope/fr`,
      { body: "x" },
    );
    expect(badKind.status).toBe(400);

    const saved = await op.ok("PUT", path, { body: "✓ {organisation} — {link}" }, 200);
    expect(saved).toMatchObject({ overridden: true, body: "✓ {organisation} — {link}" });
    const account = await createAccount({ mode: "wizard", phoneNumber: "+41791119999" });
    const queued = await op.ok<MessageBody>("POST", `/api/v1/accounts/${account.id}/installation-sms`);
    expect(queued.text).toMatch(/^✓ Org-/);
    expect([queued.encoding, queued.segments]).toEqual(["UCS-2", 1]);

    await op.ok("PUT", path, { body: `${"✓".repeat(200)} {link}` }, 200);
    const before = await counts();
    const tooLong = await op.call("POST", `/api/v1/accounts/${account.id}/installation-sms`);
    expect(tooLong.status).toBe(422);
    expect((tooLong.json as Problem).detail).toMatch(/takes 4 UCS-2 segments, more than the 3 allowed/);
    expect(await counts()).toEqual(before);

    const reset = await op.ok("DELETE", path, undefined, 200);
    expect(reset).toMatchObject({ overridden: false });
    const list = await op.ok<{ items: Array<{ kind: string; language: string }> }>(
      "GET",
      `/api/v1/organisations/${tenant.organisationId}/message-templates`,
    );
    // Seven kinds (installation SMS, activation SMS and e-mail, duress alert, console invitation,
    // password reset, renewal reminder) in five languages.
    expect(list.items).toHaveLength(7 * 5);
    const contract = await op.ok<{ items: unknown[] }>(
      "GET",
      `/api/v1/message-templates?organisationId=${tenant.organisationId}`,
    );
    expect(contract.items).toEqual(list.items);
    const unnamed = await op.call("GET", "/api/v1/message-templates");
    expect((unnamed.json as Problem).errors?.map((e) => e.path)).toEqual(["query.organisationId"]);
  });

  it("delivers another capability's message (the PKI's duress alert) from its template, and an unknown kind from the fallback", async () => {
    const outbox = t.server.messaging.outbox;
    const account = await createAccount({ mode: "manual" });
    const ids = await knex().transaction(async (trx) => [
      await outbox.enqueue(trx, {
        channel: "email",
        kind: "duress_alert",
        recipient: "security@example.net",
        variables: { account: account.username, occurredAt: "2026-12-02T10:00:00Z" },
        accountId: account.id,
        organisationId: tenant.organisationId,
      }),
      await outbox.enqueue(trx, {
        channel: "email",
        kind: "something_new",
        recipient: "ops@example.net",
        variables: { plan: "gold" },
        accountId: account.id,
      }),
    ]);
    const alert = await waitForStatus(op, account.id, ids[0]?.id as string, "sent");
    expect(alert.subject).toBe("Security alert: a duress code was used");
    expect(alert.text).toContain(`account: ${account.username}`);
    const other = await waitForStatus(op, account.id, ids[1]?.id as string, "sent");
    expect(other.subject).toBe("provisiond: something new");
    expect(other.text).toContain("plan: gold");
  });

  it("readers may list messages but not send them; metrics show queue depth", async () => {
    const account = await createAccount({ mode: "wizard", phoneNumber: "+41791234000" });
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toContain("provisiond_messages_queue_depth");
    expect(metrics).toContain("provisiond_message_delivery_seconds");
    const other = await op.call("GET", `/api/v1/accounts/00000000-0000-4000-8000-000000000000/messages`);
    expect(other.status).toBe(404);
    expect((await messagesOf(op, account.id)).length).toBe(0);
  });
});
