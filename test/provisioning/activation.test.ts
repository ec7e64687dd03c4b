import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { makeCsr } from "../pki/device.js";
import { openssl } from "../pki/fixture.js";
import { TestSipClient } from "../sip/support/client.js";
import { TestRegistrar } from "../sip/support/register.js";
import { type ApiClient, apiClient } from "../support/api.js";
import { startTestServer, type TestServer } from "../support/server.js";
import {
  activationLink,
  callLink,
  createTenant,
  createWizardAccount,
  device,
  documentValidator,
  type Tenant,
} from "./support.js";

type Doc = {
  server: { url: string; caFingerprint: string };
  account: { id: string; displayName: string | null; sipUri: string };
  sip: {
    username: string;
    password: string;
    domain: string;
    host: string;
    transports: Array<{ transport: string; port: number }>;
    digestAlgorithms: string[];
    keepAliveSeconds: number;
    registrationExpirySeconds: number;
    tlsRequired: boolean;
  };
  media: { srtp: string; codecs: string[] };
  tls: { caChainPem: string; certificatePem: string; certificate: { serial: string; fingerprint: string } };
  announcementLanguage: string;
  license: {
    mode: string;
    checkUrl: string | null;
    licenseKey: string | null;
    signingKey: { keyId: string } | null;
  };
};

const clock = new ManualClock(new Date());
let t: TestServer;
let op: ApiClient;
let tenant: Tenant;
let udp: { address: string; port: number };
const clients: TestSipClient[] = [];
const { validate } = documentValidator();

beforeAll(async () => {
  t = await startTestServer({
    clock,
    config: {
      sip: { enabled: true, listen: "udp:127.0.0.1:0", bindingFlushMs: 0 },
      messaging: { activationLinkSeconds: 3600 },
    },
  });
  op = apiClient(t.url, t.operatorToken);
  const bound = t.server.sip?.addresses().find((a) => a.transport === "udp");
  if (!bound) throw new Error("no UDP listener");
  udp = { address: bound.address, port: bound.port };
  tenant = await createTenant(op, {
    serverHost: "127.0.0.1",
    profile: {
      // What devices are told: this test server's UDP port.
      transports: { udp: { enabled: true, port: udp.port }, tcp: { enabled: false } },
      digestAlgorithms: ["SHA-256", "MD5"],
      srtp: "mandatory",
      codecs: ["opus", "PCMA"],
      keepAliveSeconds: 25,
      announcementLanguage: "fr",
      certificateValidityDays: 30,
    },
  });
});

afterAll(async () => {
  for (const client of clients) client.close();
  await t?.stop();
});

async function register(doc: Doc, password = doc.sip.password) {
  const transport = doc.sip.transports.find((x) => x.transport === "udp");
  if (!transport) throw new Error("the document offers no UDP");
  const client = await TestSipClient.udp({ address: doc.sip.host, port: transport.port });
  clients.push(client);
  const algorithm = doc.sip.digestAlgorithms[0] === "SHA-256" ? "SHA-256" : "MD5";
  return new TestRegistrar(client, doc.sip.username, password, doc.sip.domain).register({ algorithm });
}

async function details(id: string) {
  return op.ok<{
    status: string;
    activatedAt: string | null;
    device: Record<string, unknown> | null;
    activationAttempts: Array<{ outcome: string; method: string; address: string; occurredAt: string }>;
    certificates: Array<{ serial: string; status: string; reason: string | null }>;
  }>("GET", `/api/v1/accounts/${id}`);
}

describe("PGSM activation", () => {
  it("activates a wizard account end to end: document per schema, certificate from the CA, REGISTER with its password", async () => {
    const account = await createWizardAccount(op, tenant, { licenseKey: "LIC-ACT-1" });
    const { token, url } = await activationLink(op, account.id);

    const intro = await callLink(t.url, "GET", token);
    expect(intro.status, intro.text).toBe(200);
    expect(intro.headers.get("cache-control")).toBe("no-store");
    expect(intro.json).toMatchObject({
      server: { url: t.url, caFingerprint: t.server.pki.ca.fingerprint },
      account: { displayName: account.displayName },
      activation: { method: "POST", url },
    });

    const csr = await makeCsr("P-256");
    const answer = await callLink(t.url, "POST", token, { csr, device });
    expect(answer.status, answer.text).toBe(200);
    const doc = answer.json as unknown as Doc;
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    expect(doc).toMatchObject({
      server: { url: t.url, caFingerprint: t.server.pki.ca.fingerprint },
      account: {
        id: account.id,
        displayName: account.displayName,
        sipUri: `sip:${account.username}@${tenant.sipDomain}`,
      },
      sip: {
        username: account.username,
        domain: tenant.sipDomain,
        host: "127.0.0.1",
        transports: [{ transport: "udp", port: udp.port }],
        digestAlgorithms: ["SHA-256", "MD5"],
        keepAliveSeconds: 25,
        tlsRequired: false,
      },
      media: { srtp: "mandatory", codecs: ["opus", "PCMA"] },
      announcementLanguage: "fr",
      license: { mode: "proxy", checkUrl: `${t.url}/license/check`, licenseKey: "LIC-ACT-1" },
    });
    const publicKey = await op.ok<{ keyId: string }>("GET", "/license/public-key");
    expect(doc.license.signingKey?.keyId).toBe(publicKey.keyId);
    expect(doc.sip.password).toMatch(/^[A-Za-z0-9]{20}$/);

    // The certificate chains to the CA the document carries, which is the server's own.
    const verified = openssl(["verify", "-CAfile", "ca.pem", "cert.pem"], {
      "ca.pem": doc.tls.caChainPem,
      "cert.pem": doc.tls.certificatePem,
    });
    expect(verified.output).toContain("cert.pem: OK");
    const served = await fetch(`${t.url}/pki/ca.pem`).then((r) => r.text());
    expect(doc.tls.caChainPem.trim()).toBe(served.trim());
    const text = openssl(["x509", "-in", "cert.pem", "-noout", "-subject", "-ext", "subjectAltName"], {
      "cert.pem": doc.tls.certificatePem,
    }).output;
    expect(text).toMatch(new RegExp(`CN ?= ?${account.username}`));
    expect(text).toContain(`URI:sip:${account.username}@${tenant.sipDomain}`);

    const registered = await register(doc);
    expect(registered.status).toBe(200);

    const after = await details(account.id);
    expect(after.status).toBe("active");
    expect(after.activatedAt).not.toBeNull();
    expect(after.device).toMatchObject({
      platform: "android",
      model: "Pixel 8",
      osVersion: "15",
      appVersion: "3.2.1",
      hasPushToken: true,
      activatedAt: after.activatedAt,
      certificateSerial: doc.tls.certificate.serial,
    });
    expect(after.activationAttempts.map((a) => [a.method, a.outcome])).toEqual([
      ["POST", "activated"],
      ["GET", "viewed"],
    ]);
    expect(after.activationAttempts[0]?.address).toMatch(/127\.0\.0\.1/);
    expect(after.certificates).toEqual([
      expect.objectContaining({ serial: doc.tls.certificate.serial, status: "valid" }),
    ]);
    const events = await op.ok<{ items: Array<{ action: string }> }>(
      "GET",
      `/api/v1/accounts/${account.id}/events`,
    );
    expect(events.items.map((e) => e.action)).toEqual(
      expect.arrayContaining(["account.activated", "certificate.issued"]),
    );
  });

  it("repeats the same document for the same CSR within the window; another CSR, or later, is 410 used", async () => {
    const account = await createWizardAccount(op, tenant);
    const { token } = await activationLink(op, account.id);
    const csr = await makeCsr("P-256");
    const first = await callLink(t.url, "POST", token, { csr, device });
    expect(first.status, first.text).toBe(200);
    // The same request body written differently (DER in base64 instead of PEM) is the same CSR.
    const der = csr.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
    const again = await callLink(t.url, "POST", token, { csr: der, device });
    expect(again.status, again.text).toBe(200);
    expect(again.json).toEqual(first.json);

    const other = await callLink(t.url, "POST", token, { csr: await makeCsr("P-256"), device });
    expect(other.status).toBe(410);
    expect(other.json.type).toBe("urn:provisiond:problem:activation-link-used");
    const look = await callLink(t.url, "GET", token);
    expect(look.status).toBe(410);
    expect(look.json.type).toBe("urn:provisiond:problem:activation-link-used");

    clock.advance(301_000);
    try {
      const late = await callLink(t.url, "POST", token, { csr, device });
      expect(late.status).toBe(410);
      expect(late.json.type).toBe("urn:provisiond:problem:activation-link-used");
    } finally {
      clock.set(new Date());
    }
    const certificates = await op.ok<{ items: unknown[] }>(
      "GET",
      `/api/v1/accounts/${account.id}/certificates`,
    );
    expect(certificates.items).toHaveLength(1);
  });

  it("a password reset after the activation ends the repeat: the stored answer no longer holds", async () => {
    const account = await createWizardAccount(op, tenant);
    const { token } = await activationLink(op, account.id);
    const csr = await makeCsr("P-256");
    expect((await callLink(t.url, "POST", token, { csr, device })).status).toBe(200);
    clock.advance(1000);
    await op.ok("POST", `/api/v1/accounts/${account.id}/reset-password`, {}, 200);
    const again = await callLink(t.url, "POST", token, { csr, device });
    expect(again.status).toBe(410);
  });

  it("an expired link is 410 with its own type, an unknown one 404, a replaced one 410: none reveals an account", async () => {
    const account = await createWizardAccount(op, tenant);
    const old = await activationLink(op, account.id);
    const current = await activationLink(op, account.id);
    const replaced = await callLink(t.url, "POST", old.token, { csr: await makeCsr("P-256"), device });
    expect(replaced.status).toBe(410);
    expect(replaced.json.type).toBe("urn:provisiond:problem:activation-link-replaced");

    const unknown = await callLink(t.url, "GET", "A".repeat(43));
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get("content-type")).toContain("application/problem+json");

    clock.advance(3601_000);
    try {
      const expired = await callLink(t.url, "POST", current.token, { csr: await makeCsr("P-256"), device });
      expect(expired.status).toBe(410);
      expect(expired.json.type).toBe("urn:provisiond:problem:activation-link-expired");
      const lookExpired = await callLink(t.url, "GET", current.token);
      expect(lookExpired.json.type).toBe("urn:provisiond:problem:activation-link-expired");
      for (const answer of [replaced, unknown, expired, lookExpired]) {
        for (const secret of [account.username, account.displayName, account.id, tenant.sipDomain]) {
          expect(answer.text).not.toContain(secret);
        }
      }
    } finally {
      clock.set(new Date());
    }
    const after = await details(account.id);
    expect(after.status).toBe("pending_activation");
    expect(after.device).toBeNull();
    expect(after.activationAttempts.map((a) => a.outcome)).toEqual(["expired", "expired", "replaced"]);
  });

  it("a forged or malformed CSR is 400 naming body.csr, and the link stays usable", async () => {
    const account = await createWizardAccount(op, tenant);
    const { token } = await activationLink(op, account.id);
    const good = await makeCsr("P-256");
    // Flip a byte of the signature: the CSR no longer proves the key.
    const der = Buffer.from(good.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
    der[der.length - 2] = (der[der.length - 2] ?? 0) ^ 0xff;
    const cases = [
      [der.toString("base64"), "signature"],
      ["not a csr", "PKCS#10"],
      [await makeCsr("RSA-1024"), "2048"],
    ] as const;
    for (const [csr, words] of cases) {
      const refused = await callLink(t.url, "POST", token, { csr, device });
      expect(refused.status, refused.text).toBe(400);
      expect(refused.json.errors).toEqual([{ path: "body.csr", message: expect.stringContaining(words) }]);
    }
    const missing = await callLink(t.url, "POST", token, {
      csr: good,
      device: { ...device, platform: "symbian" },
    });
    expect(missing.status).toBe(400);
    expect(JSON.stringify(missing.json.errors)).toContain("body.device.platform");

    const before = await details(account.id);
    expect(before.status).toBe("pending_activation");
    expect(before.certificates).toEqual([]);
    const ok = await callLink(t.url, "POST", token, { csr: good, device });
    expect(ok.status, ok.text).toBe(200);
    const outcomes = (await details(account.id)).activationAttempts.map((a) => a.outcome);
    expect(outcomes).toEqual(["activated", "invalid_csr", "invalid_csr", "invalid_csr"]);
    const audit = await op.ok<{ items: Array<{ action: string }> }>(
      "GET",
      `/api/v1/accounts/${account.id}/events?pageSize=100`,
    );
    expect(audit.items.filter((e) => e.action === "security.activation_failed")).toHaveLength(3);
    const logged = t.logs.lines().filter((line) => line.security === "provisioning.activation_failed");
    expect(logged.filter((line) => line.accountId === account.id)).toHaveLength(3);
  });

  it("two concurrent activations of one link: exactly one succeeds, the other is 410", async () => {
    const account = await createWizardAccount(op, tenant);
    const { token } = await activationLink(op, account.id);
    const [a, b] = await Promise.all([makeCsr("P-256"), makeCsr("P-256")]);
    const answers = await Promise.all([
      callLink(t.url, "POST", token, { csr: a, device }),
      callLink(t.url, "POST", token, { csr: b, device }),
    ]);
    expect(answers.map((x) => x.status).sort()).toEqual([200, 410]);
    const certificates = await op.ok<{ items: unknown[] }>(
      "GET",
      `/api/v1/accounts/${account.id}/certificates`,
    );
    expect(certificates.items).toHaveLength(1);
    const winner = answers.find((x) => x.status === 200)?.json as unknown as Doc;
    expect((await register(winner)).status).toBe(200);
  });

  it("re-provisioning an active account replaces its password and key, only once it succeeds", async () => {
    const account = await createWizardAccount(op, tenant);
    const first = await activationLink(op, account.id);
    const firstDoc = (await callLink(t.url, "POST", first.token, { csr: await makeCsr("P-256"), device }))
      .json as unknown as Doc;
    expect((await register(firstDoc)).status).toBe(200);

    const second = await activationLink(op, account.id);
    const intro = await callLink(t.url, "GET", second.token);
    expect(intro.status).toBe(200);
    // A failed attempt changes nothing: the old password and key still work.
    const refused = await callLink(t.url, "POST", second.token, { csr: "garbage", device });
    expect(refused.status).toBe(400);
    expect((await register(firstDoc)).status).toBe(200);
    expect((await details(account.id)).certificates.map((c) => c.status)).toEqual(["valid"]);

    const iphone = { platform: "ios", model: "iPhone15,2", osVersion: "18.1", appVersion: "3.3.0" };
    const answer = await callLink(t.url, "POST", second.token, {
      csr: await makeCsr("RSA-2048"),
      device: iphone,
    });
    expect(answer.status, answer.text).toBe(200);
    const secondDoc = answer.json as unknown as Doc;
    expect(validate(secondDoc)).toBe(true);
    expect(secondDoc.sip.password).not.toBe(firstDoc.sip.password);
    expect((await register(secondDoc)).status).toBe(200);
    // The registrar saw the new password at once (the account event), not after its cache expired.
    expect((await register(firstDoc)).status).toBe(401);

    const after = await details(account.id);
    expect(after.device).toMatchObject({ platform: "ios", model: "iPhone15,2", hasPushToken: false });
    const byserial = Object.fromEntries(after.certificates.map((c) => [c.serial, c]));
    expect(byserial[firstDoc.tls.certificate.serial]).toMatchObject({
      status: "revoked",
      reason: "superseded",
    });
    expect(byserial[secondDoc.tls.certificate.serial]).toMatchObject({ status: "valid" });
    const crl = openssl(["crl", "-in", "crl.pem", "-noout", "-text"], {
      "crl.pem": await fetch(`${t.url}/pki/crl.pem`).then((r) => r.text()),
    }).output.toUpperCase();
    expect(crl).toContain(firstDoc.tls.certificate.serial.toUpperCase());
    const events = await op.ok<{ items: Array<{ action: string }> }>(
      "GET",
      `/api/v1/accounts/${account.id}/events`,
    );
    expect(events.items.map((e) => e.action)).toContain("account.reprovisioned");
  });

  it("a disabled account cannot activate, and its link stays usable for when it is enabled", async () => {
    const account = await createWizardAccount(op, tenant);
    const { token } = await activationLink(op, account.id);
    await op.ok("POST", `/api/v1/accounts/${account.id}/disable`, { reason: "lost phone" }, 200);
    const csr = await makeCsr("P-256");
    const refused = await callLink(t.url, "POST", token, { csr, device });
    expect(refused.status).toBe(403);
    await op.ok("POST", `/api/v1/accounts/${account.id}/enable`, undefined, 200);
    const ok = await callLink(t.url, "POST", token, { csr, device });
    expect(ok.status, ok.text).toBe(200);
    expect((await details(account.id)).status).toBe("active");
  });
});
