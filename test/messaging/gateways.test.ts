import type { AddressInfo } from "node:net";
import * as smpp from "smpp";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AccountBody, createTenant, type Tenant } from "../accounts/fixtures.js";
import { type ApiClient, apiClient } from "../support/api.js";
import { databaseKind } from "../support/database.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { type MessageBody, startFakeHttpGateway, waitFor, waitForStatus } from "./support.js";

const callbackSecret = "callback-secret-0123456789";

async function tenantWithAccount(
  op: ApiClient,
  phoneNumber: string,
): Promise<{ tenant: Tenant; account: AccountBody }> {
  const tenant = await createTenant(op);
  const account = await op.ok<AccountBody>("POST", "/api/v1/accounts", {
    groupId: tenant.groupId,
    type: "PGSM",
    mode: "wizard",
    phoneNumber,
  });
  return { tenant, account };
}

describe(`the HTTP gateway (Twilio preset) on ${databaseKind}`, () => {
  let gateway: Awaited<ReturnType<typeof startFakeHttpGateway>>;
  let t: TestServer;
  let op: ApiClient;

  beforeAll(async () => {
    gateway = await startFakeHttpGateway();
    t = await startTestServer({
      config: {
        messaging: {
          sweepMs: 50,
          retryBaseMs: 50,
          retryMaxMs: 200,
          maxAttempts: 3,
          sms: {
            gateway: "http",
            timeoutMs: 300,
            http: {
              preset: "twilio",
              url: gateway.url,
              username: "AC123",
              password: "tok",
              from: "+41440000000",
              callbackSecret,
            },
          },
        },
      },
    });
    op = apiClient(t.url, t.operatorToken);
  });
  afterAll(async () => {
    await t.stop();
    await gateway.close();
  });

  it("posts the Twilio form with basic auth and an idempotency key, then takes the status callback to delivered", async () => {
    const { account } = await tenantWithAccount(op, "+41791000001");
    const queued = await op.ok<MessageBody>("POST", `/api/v1/accounts/${account.id}/installation-sms`);
    const sent = await waitForStatus(op, account.id, queued.id, "sent");
    const request = gateway.requests.find((r) => r.form.get("To") === "+41791000001");
    expect(request?.headers.authorization).toBe(`Basic ${Buffer.from("AC123:tok").toString("base64")}`);
    expect(request?.headers["idempotency-key"]).toBe(queued.idempotencyKey);
    expect(request?.form.get("Body")).toBe(queued.text);
    expect(request?.form.get("From")).toBe("+41440000000");
    const callback = request?.form.get("StatusCallback") as string;
    expect(callback).toBe(`${t.url}/api/v1/messaging/status-callbacks/${callbackSecret}`);

    const sid = gateway.gatewayIdOf(queued.idempotencyKey) as string;
    const forged = await fetch(`${t.url}/api/v1/messaging/status-callbacks/wrong-secret-0123456789`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ MessageSid: sid, MessageStatus: "delivered" }).toString(),
    });
    expect(forged.status).toBe(401);
    expect((await waitForStatus(op, account.id, queued.id, "sent")).status).toBe("sent");

    const ok = await fetch(callback, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ MessageSid: sid, MessageStatus: "delivered" }).toString(),
    });
    expect(ok.status).toBe(204);
    const delivered = await waitForStatus(op, account.id, queued.id, "delivered");
    expect(delivered.history.map((h) => h.status)).toEqual(["queued", "sending", "sent", "delivered"]);
    expect(sent.gateway).toBe("http");
  });

  it("a failed status callback shows the gateway's reason", async () => {
    const { account } = await tenantWithAccount(op, "+41791000002");
    const queued = await op.ok<MessageBody>("POST", `/api/v1/accounts/${account.id}/activation-sms`);
    await waitForStatus(op, account.id, queued.id, "sent");
    const sid = gateway.gatewayIdOf(queued.idempotencyKey) as string;
    const res = await fetch(`${t.url}/api/v1/messaging/status-callbacks/${callbackSecret}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: sid, status: "undelivered", reason: "30003 unreachable handset" }),
    });
    expect(res.status).toBe(204);
    const failed = await waitForStatus(op, account.id, queued.id, "failed");
    expect(failed.failureReason).toBe("http: 30003 unreachable handset");
    const unknown = await fetch(`${t.url}/api/v1/messaging/status-callbacks/${callbackSecret}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: "SM-nope", status: "delivered" }),
    });
    expect(unknown.status).toBe(404);
    const noStatus = await fetch(`${t.url}/api/v1/messaging/status-callbacks/${callbackSecret}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ status: "delivered" }),
    });
    expect(noStatus.status).toBe(400);
  });

  it("a rejection fails the message at once with the gateway's answer; it is not retried", async () => {
    const { account } = await tenantWithAccount(op, "+41791000003");
    gateway.behave("+41791000003", "reject");
    const queued = await op.ok<MessageBody>("POST", `/api/v1/accounts/${account.id}/installation-sms`);
    const failed = await waitForStatus(op, account.id, queued.id, "failed");
    expect(failed.attempts).toBe(1);
    expect(failed.failureReason).toMatch(/gateway answered 400: .*invalid destination/);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(gateway.requests.filter((r) => r.form.get("To") === "+41791000003")).toHaveLength(1);
  });

  it("timeouts and 503s are retried with backoff, then given up after the maximum attempts", async () => {
    const { account } = await tenantWithAccount(op, "+41791000004");
    gateway.behave("+41791000004", "hang");
    const queued = await op.ok<MessageBody>("POST", `/api/v1/accounts/${account.id}/installation-sms`);
    const failed = await waitForStatus(op, account.id, queued.id, "failed");
    expect(failed.attempts).toBe(3);
    expect(failed.failureReason).toMatch(/no answer within 300 ms \(gave up after 3 attempts\)/);
    expect(failed.history.filter((h) => h.status === "queued").map((h) => h.detail)).toEqual([
      null,
      expect.stringMatching(/^retry in \d+ s: no answer within 300 ms$/),
      expect.stringMatching(/^retry in \d+ s: no answer within 300 ms$/),
    ]);
    const requests = gateway.requests.filter((r) => r.form.get("To") === "+41791000004");
    expect(new Set(requests.map((r) => r.headers["idempotency-key"]))).toEqual(
      new Set([queued.idempotencyKey]),
    );

    const { account: second } = await tenantWithAccount(op, "+41791000005");
    gateway.behave("+41791000005", "fail");
    const busy = await op.ok<MessageBody>("POST", `/api/v1/accounts/${second.id}/installation-sms`);
    await waitFor(
      async () => gateway.requests.filter((r) => r.form.get("To") === "+41791000005").length >= 2,
      "a retry",
    );
    gateway.behave("+41791000005", "accept");
    const sent = await waitForStatus(op, second.id, busy.id, "sent");
    expect(sent.attempts).toBeGreaterThanOrEqual(2);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/provisiond_message_failures_total\{[^}]*gateway="http"[^}]*reason="http_503"/);
    expect(metrics).toMatch(/provisiond_message_failures_total\{[^}]*reason="timeout"/);
  });
});

describe(`the SMPP gateway on ${databaseKind}`, () => {
  let server: smpp.Server;
  let t: TestServer;
  let op: ApiClient;
  const submitted: Array<Record<string, unknown>> = [];
  let binds = 0;
  let seq = 0;

  beforeAll(async () => {
    server = smpp.createServer((session) => {
      session.on("bind_transceiver", (pdu) => {
        binds += 1;
        session.send(pdu.response({ command_status: pdu.password === "secret" ? 0 : smpp.ESME_RBINDFAIL }));
      });
      session.on("enquire_link", (pdu) => session.send(pdu.response()));
      session.on("unbind", (pdu) => {
        session.send(pdu.response());
        session.close();
      });
      session.on("submit_sm", (pdu) => {
        const id = `smsc-${++seq}`;
        submitted.push({ ...pdu });
        const to = String(pdu.destination_addr);
        if (to.endsWith("9")) {
          session.send(pdu.response({ command_status: smpp.ESME_RINVDSTADR }));
          return;
        }
        session.send(pdu.response({ message_id: id }));
        const stat = to.endsWith("8") ? "UNDELIV" : "DELIVRD";
        setTimeout(() => {
          session.deliver_sm({
            source_addr: to,
            destination_addr: "provisiond",
            esm_class: 0x04,
            short_message: `id:${id} sub:001 dlvrd:001 submit date:2612021000 done date:2612021001 stat:${stat} err:${stat === "DELIVRD" ? "000" : "001"} text:`,
          });
        }, 20);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    const port = (server.address() as AddressInfo).port;
    t = await startTestServer({
      config: {
        messaging: {
          sweepMs: 50,
          sms: {
            gateway: "smpp",
            smpp: {
              url: `smpp://127.0.0.1:${port}`,
              systemId: "provisiond",
              password: "secret",
              enquireLinkSeconds: 1,
            },
          },
        },
      },
    });
    op = apiClient(t.url, t.operatorToken);
  });
  afterAll(async () => {
    await t.stop();
    for (const session of server.sessions) session.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("binds as transceiver, submits, and turns delivery receipts into delivered or failed", async () => {
    const { account } = await tenantWithAccount(op, "+41792000001");
    const queued = await op.ok<MessageBody>("POST", `/api/v1/accounts/${account.id}/installation-sms`);
    const delivered = await waitForStatus(op, account.id, queued.id, "delivered");
    expect(delivered.gateway).toBe("smpp");
    expect(delivered.history.map((h) => h.status)).toEqual(["queued", "sending", "sent", "delivered"]);
    expect(submitted[0]).toMatchObject({ destination_addr: "41792000001", registered_delivery: 1 });

    const { account: lost } = await tenantWithAccount(op, "+41792000008");
    const undelivered = await op.ok<MessageBody>("POST", `/api/v1/accounts/${lost.id}/installation-sms`);
    const failed = await waitForStatus(op, lost.id, undelivered.id, "failed");
    expect(failed.failureReason).toBe("smpp: UNDELIV err:001");

    const { account: refused } = await tenantWithAccount(op, "+41792000009");
    const bad = await op.ok<MessageBody>("POST", `/api/v1/accounts/${refused.id}/installation-sms`);
    const rejected = await waitForStatus(op, refused.id, bad.id, "failed");
    expect(rejected.failureReason).toMatch(/the SMSC refused submit_sm with status 0x0000000b/);
  });

  it("binds again after the SMSC drops the session, and delivers what was queued meanwhile", async () => {
    const bindsBefore = binds;
    for (const session of [...server.sessions]) session.destroy();
    const { account } = await tenantWithAccount(op, "+41792000002");
    const queued = await op.ok<MessageBody>("POST", `/api/v1/accounts/${account.id}/activation-sms`);
    await waitForStatus(op, account.id, queued.id, "delivered");
    expect(binds).toBeGreaterThan(bindsBefore);
  });
});

describe(`e-mail over SMTP on ${databaseKind}`, () => {
  let smtp: SMTPServer;
  let t: TestServer;
  let op: ApiClient;
  const mails: Array<{ to: string[]; raw: string }> = [];

  beforeAll(async () => {
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ["STARTTLS"],
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on("data", (chunk: Buffer) => chunks.push(chunk));
        stream.on("end", () => {
          mails.push({
            to: session.envelope.rcptTo.map((r) => r.address),
            raw: Buffer.concat(chunks).toString("utf8"),
          });
          callback();
        });
      },
      onRcptTo(address, _session, callback) {
        if (address.address.startsWith("bounce")) {
          const error = new Error("mailbox unavailable") as Error & { responseCode: number };
          error.responseCode = 550;
          callback(error);
          return;
        }
        callback();
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, "127.0.0.1", () => resolve()));
    const port = (smtp.server.address() as AddressInfo).port;
    t = await startTestServer({
      config: {
        messaging: {
          sweepMs: 50,
          email: {
            transport: "smtp",
            smtpUrl: `smtp://127.0.0.1:${port}`,
            from: "provisiond <alerts@example.net>",
          },
        },
      },
    });
    op = apiClient(t.url, t.operatorToken);
  });
  afterAll(async () => {
    await t.stop();
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
  });

  it("sends the activation link and the PKI's duress alert through a real SMTP server", async () => {
    const { tenant, account } = await tenantWithAccount(op, "+41793000001");
    const link = await op.ok<{ url: string; message: MessageBody }>(
      "POST",
      `/api/v1/accounts/${account.id}/activation-link`,
      {
        email: "owner@example.net",
      },
    );
    await waitForStatus(op, account.id, link.message.id, "sent");
    const mail = mails.find((m) => m.to.includes("owner@example.net"));
    expect(mail?.raw).toContain(link.url);
    expect(mail?.raw).toContain(`X-Idempotency-Key: ${link.message.idempotencyKey}`);
    expect(mail?.raw).toMatch(/Subject: .*activate your secure phone/);

    const { id } = await t.db.database.knex.transaction((trx) =>
      t.server.messaging.outbox.enqueue(trx, {
        channel: "email",
        kind: "duress_alert",
        recipient: "bounce@example.net",
        variables: { account: account.username },
        accountId: account.id,
        organisationId: tenant.organisationId,
      }),
    );
    const failed = await waitForStatus(op, account.id, id, "failed");
    expect(failed.failureReason).toMatch(/e-mail not accepted: .*550/);
  });
});
