import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SipTestServer, startSipTestServer } from "../sip/support/accounts.js";
import { TestSipClient } from "../sip/support/client.js";
import { TestRegistrar } from "../sip/support/register.js";
import { realPeerGate, runSipp } from "../sip/support/tools.js";
import { parseSettingsXml, SnomPhoneClient, setting } from "./snom-phone.js";

/**
 * The settings file is only right if a phone that applies it registers: the identity it names
 * (user_name, user_pass, user_host) is taken from the XML and used by a SIP client.
 */
let server: SipTestServer;
const clients: TestSipClient[] = [];

beforeAll(async () => {
  // sipp 3.6 knows only MD5 and answers the first challenge only.
  server = await startSipTestServer({ profile: { digestAlgorithms: ["MD5", "SHA-256"] } });
});

afterAll(async () => {
  for (const client of clients) client.close();
  await server?.stop();
});

async function identityFromXml(mac: string) {
  const created = await server.api.ok<{
    id: string;
    provisioningCredential: { username: string; password: string; realm: string };
  }>("POST", "/api/v1/accounts", { groupId: server.groupId, type: "SNOM", macAddress: mac });
  const phone = new SnomPhoneClient(server.url, created.provisioningCredential);
  const file = await phone.fetchSettings(`/snom/${mac}.xml`);
  expect(file.status, file.text).toBe(200);
  const settings = parseSettingsXml(file.text);
  return {
    accountId: created.id,
    username: setting(settings, "user_name").value,
    authName: setting(settings, "user_pname").value,
    password: setting(settings, "user_pass").value,
    domain: setting(settings, "user_host").value,
  };
}

describe("a phone applying its settings file", () => {
  it("registers with the credentials from the XML (MD5 and SHA-256)", async () => {
    const identity = await identityFromXml("000413AB0001");
    expect(identity.domain).toBe(server.sipDomain);
    expect(identity.authName).toBe(identity.username);
    const client = await TestSipClient.udp(server.udp);
    clients.push(client);
    const ua = new TestRegistrar(client, identity.username, identity.password, identity.domain);
    expect((await ua.register({ algorithm: "MD5" })).status).toBe(200);
    expect((await ua.register({ algorithm: "SHA-256" })).status).toBe(200);
    const details = await server.api.ok<{ registrations: unknown[] }>(
      "GET",
      `/api/v1/accounts/${identity.accountId}`,
    );
    expect(details.registrations).toHaveLength(1);
    // A password other than the file's is refused: the file's is the one that works.
    const wrong = new TestRegistrar(client, identity.username, `${identity.password}x`, identity.domain);
    expect((await wrong.register()).status).toBe(401);
  });

  const sipp = realPeerGate("sipp");
  it.skipIf(sipp.skip)("registers with sipp, a real SIP peer, from the XML's credentials", async () => {
    const identity = await identityFromXml("000413AB0002");
    const result = await runSipp({
      scenario: "register.xml",
      target: server.udp,
      transport: "udp",
      users: [[identity.username, identity.password, identity.domain]],
    });
    expect(result.failed, result.output).toBe(0);
    expect(result.successful, result.output).toBe(1);
  });
});
