import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SipResponse } from "../../src/sip/stack/message.js";
import { parseContacts, parseCSeq } from "../../src/sip/stack/parser.js";
import { type SipTestServer, startSipTestServer } from "./support/accounts.js";
import { branch, TestSipClient } from "./support/client.js";
import { TestRegistrar } from "./support/register.js";

/**
 * The registrar against RFC 3261 section 10.3 and RFC 7616, item by item of issue 11: each
 * test is a bug a user filed.
 */
const domain = "sip.example.test";
let server: SipTestServer;
const clients: TestSipClient[] = [];

beforeAll(async () => {
  server = await startSipTestServer({
    sipDomain: domain,
    sip: { minExpiresSeconds: 60, maxExpiresSeconds: 7200, maxContactsPerAccount: 3 },
  });
});

afterAll(async () => {
  for (const client of clients) client.close();
  await server?.stop();
});

async function ua(username: string, password: string, transport: "udp" | "tcp" = "udp") {
  const client =
    transport === "udp" ? await TestSipClient.udp(server.udp) : await TestSipClient.stream("tcp", server.tcp);
  clients.push(client);
  return new TestRegistrar(client, username, password, domain);
}

function contactsOf(response: SipResponse) {
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

async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 3000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** One request's text, sent as it is (for what TestRegistrar would not write). */
function raw(client: TestSipClient, firstLine: string, lines: string[] = [], version = "SIP/2.0"): string {
  return [
    firstLine,
    `Via: ${version}/UDP 127.0.0.1:${client.localPort};branch=${branch()};rport`,
    "Max-Forwards: 70",
    `From: <sip:2000@${domain}>;tag=raw`,
    `To: <sip:2000@${domain}>`,
    `Call-ID: raw-${Math.random()}`,
    "CSeq: 1 REGISTER",
    ...lines,
    "Content-Length: 0",
    "",
    "",
  ].join("\r\n");
}

describe("registrar: REGISTERs of one address-of-record in order and atomically", () => {
  it("processes REGISTERs pipelined on one TCP connection one after the other, within the binding limit", async () => {
    const id = await server.createAccount("2001", "password-2001");
    const phone = await ua("2001", "password-2001", "tcp");
    await phone.challenge();
    const contacts = [1, 2, 3, 4].map((n) => `<sip:2001@192.0.2.${n}:5060;transport=tcp>`);
    // Four REGISTERs in one write, each adding a contact; the limit is three.
    phone.client.send(contacts.map((contact) => phone.authorized({}, contact, 600)).join(""));
    const answers: SipResponse[] = [];
    for (let i = 0; i < 4; i++) answers.push(await phone.client.response());
    answers.sort(
      (a, b) =>
        (parseCSeq(a.headers.get("cseq") ?? "")?.seq ?? 0) -
        (parseCSeq(b.headers.get("cseq") ?? "")?.seq ?? 0),
    );
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 403]);
    // Each 200 lists what the REGISTERs before it and itself left: one, two, three contacts.
    expect(answers.slice(0, 3).map((a) => contactsOf(a).length)).toEqual([1, 2, 3]);
    expect(answers[3]?.headers.get("warning")).toContain("at most 3 contacts");
    // The database agrees with the last 200, and so does the cache (a query REGISTER).
    expect(await registrations(id)).toHaveLength(3);
    const query = await phone.register({ contact: null, expires: null });
    expect(
      contactsOf(query)
        .map((c) => c.uri)
        .sort(),
    ).toEqual(
      contacts
        .slice(0, 3)
        .map((c) => c.slice(1, -1))
        .sort(),
    );
  });
});

describe("registrar: the Request-URI", () => {
  it("refuses a digest computed over another URI than the Request-URI (400)", async () => {
    const id = await server.createAccount("2002", "password-2002");
    const phone = await ua("2002", "password-2002");
    const refused = await phone.register({ digestUri: "sip:elsewhere.example.test" });
    expect(refused.status).toBe(400);
    expect(refused.headers.get("warning")).toContain("digest uri is not the Request-URI");
    expect(await registrations(id)).toEqual([]);
    // Another spelling of the same URI (host case, RFC 3261 section 19.1.4) is the same URI.
    expect((await phone.register({ digestUri: `sip:${domain.toUpperCase()}` })).status).toBe(200);
    // sipp (and some phones) add the registrar's port: still this request's URI.
    expect((await phone.register({ digestUri: `sip:${domain}:5060` })).status).toBe(200);
  });

  it("answers 404 when the Request-URI names another domain, served here or not", async () => {
    const id = await server.createAccount("2003", "password-2003");
    await server.api.ok("POST", "/api/v1/profiles", {
      organisationId: server.organisationId,
      name: `Second ${process.pid}`,
      sipDomain: "second.example.test",
      serverHost: "127.0.0.1",
    });
    const phone = await ua("2003", "password-2003");
    for (const requestUri of ["sip:second.example.test", "sip:unknown.example.org"]) {
      const refused = await phone.register({ requestUri });
      expect(refused.status, requestUri).toBe(404);
      expect(refused.headers.get("warning")).toContain("not in the domain");
    }
    expect(await registrations(id)).toEqual([]);
  });

  it("accepts a Request-URI naming the server's own address for every domain it serves", async () => {
    const id = await server.createAccount("2004", "password-2004");
    const phone = await ua("2004", "password-2004");
    const ok = await phone.register({ requestUri: `sip:${server.udp.address}:${server.udp.port}` });
    expect(ok.status).toBe(200);
    expect(await registrations(id)).toHaveLength(1);
  });

  it("answers 416 for a Request-URI of an unknown scheme and 505 for another SIP version", async () => {
    const client = await TestSipClient.udp(server.udp);
    clients.push(client);
    client.send(raw(client, `REGISTER http://${domain} SIP/2.0`));
    const scheme = await client.response();
    expect(scheme.status).toBe(416);
    // A client of another version writes it in the Via as well: it is answered all the same.
    // Its answer copies that Via, which this side's parser refuses to read: look at the bytes.
    client.send(raw(client, `REGISTER sip:${domain} SIP/3.0`, [], "SIP/3.0"));
    const deadline = Date.now() + 3000;
    while (client.rawReceived.length < 2 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(String(client.rawReceived[1] ?? "")).toMatch(
      /^SIP\/2\.0 505 Version Not Supported\r\nVia: SIP\/3\.0\/UDP /,
    );
  });
});

describe("registrar: Require, Expires and contact comparison", () => {
  it("answers 420 with Unsupported for an option tag it does not support", async () => {
    const client = await TestSipClient.udp(server.udp);
    clients.push(client);
    client.send(raw(client, `REGISTER sip:${domain} SIP/2.0`, ["Require: foo, Bar"]));
    const refused = await client.response();
    expect(refused.status).toBe(420);
    expect(refused.headers.get("unsupported")).toBe("foo, bar");
  });

  it("treats a malformed Expires as 3600 seconds (RFC 3261 section 20.19) instead of refusing", async () => {
    await server.createAccount("2005", "password-2005");
    const phone = await ua("2005", "password-2005");
    const ok = await phone.register({ expires: "soon" });
    expect(ok.status).toBe(200);
    expect(contactsOf(ok)[0]?.expires).toBe(3600);
    const huge = await phone.register({ expires: "99999999999" });
    expect(huge.status).toBe(200);
    expect(contactsOf(huge)[0]?.expires).toBe(7200);
  });

  it("compares contacts as URIs (section 19.1.4): another spelling refreshes and removes the same binding", async () => {
    const id = await server.createAccount("2006", "password-2006");
    const phone = await ua("2006", "password-2006");
    expect(
      (await phone.register({ contact: "<sip:2006@phone.example.test:5070;transport=tcp>" })).status,
    ).toBe(200);
    const refreshed = await phone.register({ contact: "<sip:2006@PHONE.Example.TEST:5070;Transport=TCP>" });
    expect(contactsOf(refreshed)).toHaveLength(1);
    expect(await registrations(id)).toHaveLength(1);
    const removed = await phone.register({
      contact: "<sip:2006@Phone.example.test:5070;TRANSPORT=tcp>",
      expires: 0,
    });
    expect(removed.status).toBe(200);
    expect(contactsOf(removed)).toEqual([]);
    expect(await registrations(id)).toEqual([]);
    // The user part is case-sensitive: another user is another binding.
    await phone.register({ contact: "<sip:2006@phone.example.test:5070>" });
    const other = await phone.register({ contact: "<sip:2006X@phone.example.test:5070>" });
    expect(contactsOf(other)).toHaveLength(2);
  });
});

describe("registrar: unknown users", () => {
  it("answers an unknown name from memory after the first try, and lets a new account register at once", async () => {
    const knex = server.db.database.knex;
    let accountQueries = 0;
    const count = (query: { sql: string }) => {
      if (query.sql.includes('"accounts"')) accountQueries++;
    };
    knex.on("query", count);
    try {
      const guess = await ua("2999", "guessed");
      expect((await guess.register()).status).toBe(401);
      const first = accountQueries;
      expect(first).toBeGreaterThan(0);
      for (let i = 0; i < 5; i++) expect((await guess.register()).status).toBe(401);
      // As for a known account whose credentials are cached: no database lookup per attempt.
      expect(accountQueries).toBe(first);
    } finally {
      knex.off("query", count);
    }
    await server.createAccount("2999", "password-2999");
    expect((await (await ua("2999", "password-2999")).register()).status).toBe(200);
  });
});

describe("registrar: connections that close", () => {
  it("removes a TCP binding when its connection closes, and shows the transport's connection", async () => {
    const id = await server.createAccount("2007", "password-2007");
    const phone = await ua("2007", "password-2007", "tcp");
    const ok = await phone.register({
      contact: `<sip:2007@127.0.0.1:${phone.client.localPort};transport=tcp>`,
    });
    expect(ok.status).toBe(200);
    expect(await registrations(id)).toEqual([
      expect.objectContaining({ transport: "tcp", connection: "open" }),
    ]);
    phone.client.close();
    expect(
      await eventually(
        () => registrations(id),
        (list) => list.length === 0,
      ),
    ).toEqual([]);
    const log = server.logs
      .lines()
      .find((line) => line.msg === "SIP: connection closed, its bindings removed");
    expect(log).toMatchObject({ accountId: id, removed: true });
  });

  it("with sip.handleLostConnections off keeps the binding and shows its connection as lost", async () => {
    const other = await startSipTestServer({ sip: { handleLostConnections: false } });
    try {
      const id = await other.createAccount("2008", "password-2008");
      const client = await TestSipClient.stream("tcp", other.tcp);
      const phone = new TestRegistrar(client, "2008", "password-2008", other.sipDomain);
      expect((await phone.register()).status).toBe(200);
      client.close();
      const read = async () =>
        (
          await other.api.ok<{ registrations: Array<Record<string, unknown>> }>(
            "GET",
            `/api/v1/accounts/${id}`,
          )
        ).registrations;
      const list = await eventually(read, (l) => l[0]?.connection === "lost");
      expect(list).toEqual([expect.objectContaining({ transport: "tcp", connection: "lost" })]);
      expect(Date.parse(String(list[0]?.connectionLostAt))).toBeGreaterThan(Date.now() - 10_000);
    } finally {
      await other.stop();
    }
  });
});

describe("registrar: digest algorithms are a profile setting", () => {
  it("challenges a profile's realm with MD5 alone by default, and with what the profile names after a change", async () => {
    const profile = await server.api.ok<{ digestAlgorithms: string[] }>(
      "GET",
      `/api/v1/profiles/${server.profileId}`,
    );
    expect(profile.digestAlgorithms).toEqual(["MD5"]);
    const phone = await ua("2009", "whatever");
    const algorithms = async () =>
      (await phone.register({ contact: null })).headers
        .getAll("www-authenticate")
        .map((value) => /algorithm=([\w-]+)/.exec(value)?.[1]);
    expect(await algorithms()).toEqual(["MD5"]);
    await server.api.ok("PATCH", `/api/v1/profiles/${server.profileId}`, {
      digestAlgorithms: ["SHA-256", "MD5"],
    });
    expect(await algorithms()).toEqual(["SHA-256", "MD5"]);
    await server.api.ok("PATCH", `/api/v1/profiles/${server.profileId}`, { digestAlgorithms: ["MD5"] });
    expect(await algorithms()).toEqual(["MD5"]);
  });

  it("refuses an unknown algorithm or a repeated one, naming the field", async () => {
    for (const digestAlgorithms of [["SHA-1"], ["MD5", "MD5"], []]) {
      const result = await server.api.call("PATCH", `/api/v1/profiles/${server.profileId}`, {
        digestAlgorithms,
      });
      expect(result.status).toBe(400);
      expect(JSON.stringify(result.json)).toContain("digestAlgorithms");
    }
  });
});
