import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createResponse, type SipRequest, serializeMessage } from "../../src/sip/stack/message.js";
import { parseContacts, parseMessage } from "../../src/sip/stack/parser.js";
import { type SipTestServer, startSipTestServer } from "./support/accounts.js";
import { TestSipClient } from "./support/client.js";
import { TestRegistrar } from "./support/register.js";

let server: SipTestServer;
const clients: TestSipClient[] = [];

beforeAll(async () => {
  server = await startSipTestServer({
    sip: { minExpiresSeconds: 60, maxExpiresSeconds: 3600, authFailureLimit: 5 },
    profile: { digestAlgorithms: ["MD5", "SHA-256"] },
  });
});

afterAll(async () => {
  for (const client of clients) client.close();
  await server?.stop();
});

async function udpUser(username: string, password: string) {
  const client = await TestSipClient.udp(server.udp);
  clients.push(client);
  return new TestRegistrar(client, username, password, server.sipDomain);
}

function contactsOf(response: { headers: { getAll(key: string): string[] } }) {
  const list = parseContacts(response.headers.getAll("contact"));
  if (!list || list.star) return [];
  return list.contacts.map((c) => ({ uri: c.uri, expires: Number(c.params.get("expires")) }));
}

async function registrations(accountId: string) {
  const details = await server.api.ok<{ registrations: Array<Record<string, unknown>> }>(
    "GET",
    `/api/v1/accounts/${accountId}`,
  );
  return details.registrations;
}

describe("registrar", () => {
  it("challenges with realm = the To domain, SHA-256 first, then accepts MD5 and SHA-256", async () => {
    const id = await server.createAccount("1001", "password-1001");
    const ua = await udpUser("1001", "password-1001");
    const md5 = await ua.register({ algorithm: "MD5" });
    expect(md5.status).toBe(200);
    expect(contactsOf(md5)).toEqual([{ uri: `sip:1001@127.0.0.1:${ua.client.localPort}`, expires: 600 }]);
    const sha = await ua.register({ algorithm: "SHA-256" });
    expect(sha.status).toBe(200);
    const list = await registrations(id);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({
      contact: `sip:1001@127.0.0.1:${ua.client.localPort}`,
      transport: "udp",
      sourceAddress: `127.0.0.1:${ua.client.localPort}`,
      userAgent: "provisiond-test",
    });
    expect(Date.parse(String(list[0]?.expiresAt))).toBeGreaterThan(Date.now() + 590_000);
  });

  it("answers a wrong password and an unknown user alike (401 with a fresh challenge)", async () => {
    await server.createAccount("1002", "password-1002");
    const wrong = await (await udpUser("1002", "not-the-password")).register();
    const unknown = await (await udpUser("1999", "not-the-password")).register();
    for (const response of [wrong, unknown]) {
      expect(response.status).toBe(401);
      expect(response.headers.getAll("www-authenticate").map((v) => v.replace(/nonce="[^"]+"/, ""))).toEqual([
        'Digest realm="127.0.0.1", , algorithm=MD5, qop="auth"',
        'Digest realm="127.0.0.1", , algorithm=SHA-256, qop="auth"',
      ]);
      expect(response.headers.get("warning")).toBeUndefined();
    }
    const log = server.logs.lines().filter((line) => line.security === "sip.register.auth_failed");
    expect(log.map((line) => line.user)).toEqual(
      expect.arrayContaining(["1002@127.0.0.1", "1999@127.0.0.1"]),
    );
  });

  it("refuses bindings below the minimum expiry with 423 and Min-Expires, caps the maximum", async () => {
    await server.createAccount("1003", "password-1003");
    const ua = await udpUser("1003", "password-1003");
    const brief = await ua.register({ expires: 10 });
    expect(brief.status).toBe(423);
    expect(brief.headers.get("min-expires")).toBe("60");
    const long = await ua.register({ expires: 99_999 });
    expect(long.status).toBe(200);
    expect(contactsOf(long)[0]?.expires).toBe(3600);
  });

  it("keeps several contacts with q-values, removes one with expires=0 and all with *", async () => {
    const id = await server.createAccount("1004", "password-1004");
    const ua = await udpUser("1004", "password-1004");
    const both = await ua.register({
      contact: "<sip:1004@192.0.2.1:5060>;q=0.5, <sip:1004@192.0.2.2:5060>;q=1.0",
    });
    expect(both.status).toBe(200);
    expect(
      contactsOf(both)
        .map((c) => c.uri)
        .sort(),
    ).toEqual(["sip:1004@192.0.2.1:5060", "sip:1004@192.0.2.2:5060"]);
    expect(both.headers.getAll("contact").join(",")).toContain("q=0.5");
    const query = await ua.register({ contact: null, expires: null });
    expect(query.status).toBe(200);
    expect(contactsOf(query)).toHaveLength(2);
    const one = await ua.register({ contact: "<sip:1004@192.0.2.1:5060>", expires: 0 });
    expect(contactsOf(one).map((c) => c.uri)).toEqual(["sip:1004@192.0.2.2:5060"]);
    const badStar = await ua.register({ contact: "*", expires: 60 });
    expect(badStar.status).toBe(400);
    const all = await ua.register({ contact: "*", expires: 0 });
    expect(all.status).toBe(200);
    expect(all.headers.getAll("contact")).toEqual([]);
    expect(await registrations(id)).toEqual([]);
  });

  it("refuses an older CSeq for the same Call-ID (RFC 3261 section 10.3 step 7)", async () => {
    await server.createAccount("1005", "password-1005");
    const ua = await udpUser("1005", "password-1005");
    expect((await ua.register()).status).toBe(200);
    // A REGISTER replayed with the same Call-ID and a lower CSeq, from another client and nonce.
    const other = await udpUser("1005", "password-1005");
    Object.assign(other, { callId: ua.callId });
    const stale = await other.register({ contact: `<sip:1005@127.0.0.1:${ua.client.localPort}>` });
    expect(stale.status).toBe(500);
  });

  it("answers 403 with a Warning saying why for disabled and not yet activated accounts, only with the right password", async () => {
    const disabledId = await server.createAccount("1006", "password-1006");
    const ua = await udpUser("1006", "password-1006");
    expect((await ua.register()).status).toBe(200);
    await server.api.ok("POST", `/api/v1/accounts/${disabledId}/disable`, { reason: "unpaid invoice" }, 200);
    // Disabling dropped the binding at once.
    expect(await registrations(disabledId)).toEqual([]);
    const refused = await ua.register();
    expect(refused.status).toBe(403);
    expect(refused.headers.get("warning")).toBe('399 provisiond "account disabled: unpaid invoice"');
    const guess = await (await udpUser("1006", "wrong-password")).register();
    expect(guess.status).toBe(401);

    await server.createAccount("1007", "password-1007", { mode: "wizard", phoneNumber: "+41791234567" });
    const pending = await (await udpUser("1007", "password-1007")).register();
    expect(pending.status).toBe(403);
    expect(pending.headers.get("warning")).toContain("not activated");
  });

  it("drops bindings and cached credentials when the password changes", async () => {
    const id = await server.createAccount("1008", "password-1008");
    const ua = await udpUser("1008", "password-1008");
    expect((await ua.register()).status).toBe(200);
    await server.api.ok(
      "POST",
      `/api/v1/accounts/${id}/reset-password`,
      { password: "password-new-1008" },
      200,
    );
    expect(await registrations(id)).toEqual([]);
    expect((await ua.register()).status).toBe(401);
    expect((await ua.register({ password: "password-new-1008" })).status).toBe(200);
  });

  it("rate-limits repeated failures for one user and logs it as a security event", async () => {
    await server.createAccount("1009", "password-1009");
    const ua = await udpUser("1009", "wrong-password");
    for (let i = 0; i < 5; i++) expect((await ua.register()).status).toBe(401);
    const blocked = await ua.register();
    expect(blocked.status).toBe(403);
    expect(blocked.headers.get("retry-after")).toMatch(/^\d+$/);
    const right = await (await udpUser("1009", "password-1009")).register();
    expect(right.status).toBe(403);
    const log = server.logs.lines().find((line) => line.security === "sip.register.rate_limited");
    expect(log).toMatchObject({ user: "1009@127.0.0.1" });
  });

  it("registers over TCP and keeps the connection as the binding's flow", async () => {
    const id = await server.createAccount("1010", "password-1010");
    const client = await TestSipClient.stream("tcp", server.tcp);
    clients.push(client);
    const ua = new TestRegistrar(client, "1010", "password-1010", server.sipDomain);
    const response = await ua.register({ contact: `<sip:1010@127.0.0.1:${client.localPort};transport=tcp>` });
    expect(response.status).toBe(200);
    const [binding] = await registrations(id);
    expect(binding).toMatchObject({ transport: "tcp", sourceAddress: `127.0.0.1:${client.localPort}` });

    // A request to the client goes over the connection it registered on (its flow): the client is
    // not listening anywhere else.
    const row = (await server.db.database.knex("sip_bindings").where({ account_id: id }).first()) as {
      flow_id: string;
    };
    const endpoint = server.server.sip?.endpoint;
    const flow = endpoint?.flow(row.flow_id);
    expect(flow?.remote.port).toBe(client.localPort);
    const options = parseMessage(
      Buffer.from(
        `OPTIONS sip:1010@127.0.0.1:${client.localPort};transport=tcp SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:${server.tcp.port};branch=z9hG4bK-flow-1\r\nMax-Forwards: 70\r\nFrom: <sip:127.0.0.1>;tag=srv\r\nTo: <sip:1010@127.0.0.1>\r\nCall-ID: flow-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`,
      ),
    );
    if (!options.ok || options.message.kind !== "request" || !flow || !endpoint) throw new Error("setup");
    const answered = new Promise<number>((resolve) => {
      endpoint.transactions.sendRequest(options.message as SipRequest, flow, {
        onResponse: (response) => resolve(response.status),
        onTimeout: () => resolve(408),
      });
    });
    const received = await client.next((m) => m.kind === "request" && m.method === "OPTIONS");
    client.send(serializeMessage(createResponse(received as SipRequest, 200)));
    expect(await answered).toBe(200);
  });
});
