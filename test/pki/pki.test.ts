import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { x509 } from "../../src/pki/x509.js";
import { type ApiClient, apiClient } from "../support/api.js";
import { databaseKind } from "../support/database.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { makeCsr } from "./device.js";
import { createKeyAccount, openssl, verifyWithCrl } from "./fixture.js";

interface IssuedAnswer {
  certificate: { serial: string; pem: string; status: string; fingerprint: string };
  chainPem: string;
  revoked: Array<{ serial: string; status: string; reason: string }>;
  crl: { number: string; url: string; pemUrl: string };
}

describe(`the certificate authority on ${databaseKind}`, () => {
  let t: TestServer;
  let op: ApiClient;
  const clock = new ManualClock(new Date());

  beforeAll(async () => {
    t = await startTestServer({ clock });
    op = apiClient(t.url, t.operatorToken);
  });
  afterAll(async () => {
    await t.stop();
  });

  const certificateCount = async () =>
    Number((await t.db.database.knex("certificates").count<{ n: string }[]>({ n: "*" }))[0]?.n ?? 0);

  it("creates a CA on the first start, says so, and serves its chain", async () => {
    expect(t.logs.text()).toContain("no CA found, so a new root CA was created");
    const response = await fetch(`${t.url}/pki/ca.pem`);
    expect(response.status).toBe(200);
    const ca = new X509Certificate(await response.text());
    expect(ca.ca).toBe(true);
    expect(ca.subject).toContain("CN=provisiond CA");
    expect(ca.publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
  });

  it("certifies a first key from a CSR with the server's subject, SAN and usages, whatever the CSR asks", async () => {
    const account = await createKeyAccount(op, t.url);
    const csr = await makeCsr("P-256", {
      name: "CN=admin, O=Evil",
      sans: ["evil.example.org", "admin.example.org"],
    });
    const answer = await account.device.rekey(csr, "initial");
    expect(answer.status, answer.text).toBe(201);
    const issued = answer.json as unknown as IssuedAnswer;

    const cert = new X509Certificate(issued.certificate.pem);
    const ca = new X509Certificate(issued.chainPem);
    expect(cert.checkIssued(ca)).toBe(true);
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.subject).toBe(`CN=${account.username}`);
    expect(cert.subjectAltName).toBe(`URI:sip:${account.username}@${account.sipDomain}`);
    expect(cert.ca).toBe(false);
    expect(cert.keyUsage).toEqual(expect.arrayContaining(["1.3.6.1.5.5.7.3.2", "1.3.6.1.5.5.7.3.4"]));
    expect(cert.serialNumber.length).toBeGreaterThanOrEqual(16);
    expect(cert.fingerprint256).toBe(issued.certificate.fingerprint);
    const days = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 86_400_000;
    expect(Math.round(days)).toBe(365);

    const verified = await verifyWithCrl(t.url, issued.certificate.pem);
    expect(verified.output).toContain("OK");
    expect(verified.ok).toBe(true);
    const text = openssl(["x509", "-in", "cert.pem", "-noout", "-text"], {
      "cert.pem": issued.certificate.pem,
    });
    expect(text.output).toContain("TLS Web Client Authentication, E-mail Protection");
    expect(text.output).toContain("Digital Signature, Key Agreement");
    expect(text.output).not.toContain("evil.example.org");

    const listed = await op.ok<{ items: Array<Record<string, unknown>> }>(
      "GET",
      `/api/v1/accounts/${account.id}/certificates`,
    );
    expect(listed.items).toEqual([
      expect.objectContaining({
        serial: issued.certificate.serial,
        fingerprint: cert.fingerprint256,
        status: "valid",
        revokedAt: null,
        reason: null,
        notAfter: new Date(cert.validTo).toISOString(),
      }),
    ]);
    const events = await op.ok<{ items: Array<{ action: string }> }>(
      "GET",
      `/api/v1/accounts/${account.id}/events`,
    );
    expect(events.items.map((e) => e.action)).toContain("certificate.issued");
  });

  it("accepts P-384 and RSA 2048 keys", async () => {
    for (const key of ["P-384", "RSA-2048"] as const) {
      const account = await createKeyAccount(op, t.url);
      const answer = await account.device.rekey(await makeCsr(key), "initial");
      expect(answer.status, answer.text).toBe(201);
      const cert = new X509Certificate((answer.json as unknown as IssuedAnswer).certificate.pem);
      expect(cert.publicKey.asymmetricKeyType).toBe(key === "P-384" ? "ec" : "rsa");
    }
  });

  it("answers 400 naming the CSR and issues nothing for a bad signature, a weak key, another curve or garbage", async () => {
    const account = await createKeyAccount(op, t.url);
    const good = await makeCsr("P-256");
    const der = Buffer.from(new x509.Pkcs10CertificateRequest(good).rawData);
    der[der.length - 3] = (der[der.length - 3] as number) ^ 0x55;
    const badSignature = new x509.Pkcs10CertificateRequest(der).toString("pem");
    const k1 = openssl(
      [
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:secp256k1",
        "-nodes",
        "-keyout",
        "k.pem",
        "-subj",
        "/CN=x",
      ],
      {},
    );
    expect(k1.ok, k1.output).toBe(true);
    const cases: Array<[string, string, RegExp]> = [
      ["bad signature", badSignature, /signature does not verify/],
      ["RSA 1024", await makeCsr("RSA-1024"), /1024 bits; at least 2048/],
      ["secp256k1", k1.output, /curve secp256k1/],
      ["garbage", "not a certificate request at all", /is not a PKCS#10/],
    ];
    const before = await certificateCount();
    for (const [label, csr, message] of cases) {
      const answer = await account.device.rekey(csr, "initial");
      expect(answer.status, label).toBe(400);
      expect(answer.headers.get("content-type")).toContain("application/problem+json");
      const errors = answer.json.errors as Array<{ path: string; message: string }>;
      expect(errors[0]?.path, label).toBe("body.csr");
      expect(errors[0]?.message, label).toMatch(message);
    }
    expect(await certificateCount()).toBe(before);
  });

  it("refuses a rekey without one of the reasons, and initial while a valid key is held", async () => {
    const account = await createKeyAccount(op, t.url);
    expect((await account.device.rekey(await makeCsr(), "initial")).status).toBe(201);
    const before = await certificateCount();

    const noReason = await account.device.rekey(await makeCsr(), "renewal");
    expect(noReason.status).toBe(400);
    const errors = noReason.json.errors as Array<{ path: string; message: string }>;
    expect(errors[0]?.path).toBe("body.reason");
    expect(errors[0]?.message).toMatch(/pin_enabled, pin_disabled or duress/);

    const again = await account.device.rekey(await makeCsr(), "initial");
    expect(again.status).toBe(409);
    expect(again.json.detail).toMatch(/holds a valid key/);

    const wrongPassword = await account.device.request(
      "POST",
      "/client/rekey",
      { sipDomain: account.sipDomain, csr: await makeCsr(), reason: "pin_enabled" },
      "wrong-Password-1",
    );
    expect(wrongPassword.status).toBe(401);
    expect(await certificateCount()).toBe(before);
  });

  it("revokes the older key on a PIN change, in the CRL the answer points to", async () => {
    const account = await createKeyAccount(op, t.url);
    const first = (await account.device.rekey(await makeCsr(), "initial")).json as unknown as IssuedAnswer;
    const answer = await account.device.rekey(await makeCsr(), "pin_enabled");
    expect(answer.status, answer.text).toBe(201);
    const second = answer.json as unknown as IssuedAnswer;
    expect(second.revoked).toEqual([
      expect.objectContaining({ serial: first.certificate.serial, reason: "superseded" }),
    ]);

    const der = Buffer.from(await (await fetch(`${t.url}${second.crl.url}`)).arrayBuffer());
    const crl = new x509.X509Crl(der);
    const ca = new x509.X509Certificate(second.chainPem);
    expect(await crl.verify({ publicKey: ca.publicKey })).toBe(true);
    expect(crl.entries.map((e) => e.serialNumber.replace(/^0+/, ""))).toContain(first.certificate.serial);
    const listed = openssl(["crl", "-inform", "DER", "-in", "crl.der", "-noout", "-text"], {
      "crl.der": der,
    });
    expect(listed.output).toMatch(new RegExp(`CRL Number: *\\n? *${second.crl.number}\\b`));
    expect(listed.output.toUpperCase()).toContain(first.certificate.serial.toUpperCase());

    const old = await verifyWithCrl(t.url, first.certificate.pem, second.crl.pemUrl);
    expect(old.ok).toBe(false);
    expect(old.output).toContain("certificate revoked");
    expect((await verifyWithCrl(t.url, second.certificate.pem)).ok).toBe(true);

    const pinOff = await account.device.rekey(await makeCsr(), "pin_disabled");
    expect(pinOff.status).toBe(201);
  });

  it("Revoke all keys: every valid key revoked, the CRL regenerated, none in the directory, then initial again", async () => {
    const account = await createKeyAccount(op, t.url);
    const peer = await createKeyAccount(op, t.url, {
      sipDomain: account.sipDomain,
      organisationId: account.organisationId,
    });
    const issued = (await account.device.rekey(await makeCsr(), "initial")).json as unknown as IssuedAnswer;

    const listedBefore = await peer.device.keysOf(account.username);
    expect(listedBefore.status, listedBefore.text).toBe(200);
    expect((listedBefore.json.certificates as unknown[]).length).toBe(1);

    const bad = await op.call("POST", `/api/v1/accounts/${account.id}/revoke-keys`, { reason: "because" });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain("body.reason");

    const revoked = await op.ok<{
      revoked: Array<{ serial: string; status: string; reason: string }>;
      crl: IssuedAnswer["crl"];
    }>("POST", `/api/v1/accounts/${account.id}/revoke-keys`, { reason: "keyCompromise" }, 200);
    expect(revoked.revoked).toEqual([
      expect.objectContaining({
        serial: issued.certificate.serial,
        status: "revoked",
        reason: "keyCompromise",
      }),
    ]);
    const check = await verifyWithCrl(t.url, issued.certificate.pem, revoked.crl.pemUrl);
    expect(check.output).toContain("certificate revoked");
    const crlText = openssl(["crl", "-in", "crl.pem", "-noout", "-text"], {
      "crl.pem": await (await fetch(`${t.url}/pki/crl.pem`)).text(),
    });
    expect(crlText.output).toContain("Key Compromise");

    const listedAfter = await peer.device.keysOf(account.username);
    expect(listedAfter.json.certificates).toEqual([]);
    const details = await op.ok<{ certificates: Array<Record<string, unknown>> }>(
      "GET",
      `/api/v1/accounts/${account.id}`,
    );
    expect(details.certificates).toEqual([
      expect.objectContaining({
        serial: issued.certificate.serial,
        status: "revoked",
        reason: "keyCompromise",
      }),
    ]);
    expect(details.certificates[0]?.revokedAt).toEqual(expect.any(String));
    const events = await op.ok<{ items: Array<{ action: string }> }>(
      "GET",
      `/api/v1/accounts/${account.id}/events`,
    );
    expect(events.items.map((e) => e.action)).toContain("certificate.revoked");

    expect((await account.device.rekey(await makeCsr(), "initial")).status).toBe(201);
  });

  it("keeps another domain's clients out of the key directory and never lists an expired key", async () => {
    const account = await createKeyAccount(op, t.url, { profile: { certificateValidityDays: 1 } });
    const peer = await createKeyAccount(op, t.url, {
      sipDomain: account.sipDomain,
      organisationId: account.organisationId,
    });
    const stranger = await createKeyAccount(op, t.url);
    expect((await account.device.rekey(await makeCsr(), "initial")).status).toBe(201);

    const fromOtherDomain = await stranger.device.keysOf(account.username, account.sipDomain);
    expect(fromOtherDomain.status).toBe(401);
    const inOwnDomain = await stranger.device.keysOf(account.username);
    expect(inOwnDomain.status).toBe(404);
    const noCredentials = await fetch(`${t.url}/pki/keys/${account.username}?sipDomain=${account.sipDomain}`);
    expect(noCredentials.status).toBe(401);
    expect(noCredentials.headers.get("www-authenticate")).toContain(`realm="${account.sipDomain}"`);

    expect(((await peer.device.keysOf(account.username)).json.certificates as unknown[]).length).toBe(1);
    clock.advance(2 * 86_400_000);
    try {
      const later = await peer.device.keysOf(account.username);
      expect(later.status).toBe(200);
      expect(later.json.certificates).toEqual([]);
      const listed = await op.ok<{ items: Array<{ status: string }> }>(
        "GET",
        `/api/v1/accounts/${account.id}/certificates`,
      );
      expect(listed.items.map((c) => c.status)).toEqual(["expired"]);
    } finally {
      clock.set(new Date());
    }
  });

  it("a duress rekey revokes the old key, audits, queues the IT alert and disables the account when the profile says so", async () => {
    const account = await createKeyAccount(op, t.url, {
      profile: { duressDisablesAccount: true },
      itEmail: "security@example.net",
    });
    const first = (await account.device.rekey(await makeCsr(), "initial")).json as unknown as IssuedAnswer;
    const answer = await account.device.rekey(await makeCsr(), "duress");
    expect(answer.status, answer.text).toBe(201);
    const duress = answer.json as unknown as IssuedAnswer;
    expect(duress.revoked).toEqual([
      expect.objectContaining({ serial: first.certificate.serial, reason: "keyCompromise" }),
    ]);

    const alertRows = () =>
      t.db.database.knex("outbox_messages").where({ account_id: account.id, kind: "duress_alert" });
    const alerts = await alertRows();
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ channel: "email", recipient: "security@example.net" });
    expect(alerts[0].variables).toMatchObject({ username: account.username, accountDisabled: "yes" });
    // Messaging delivers it (the log e-mail transport by default), once.
    await expect
      .poll(async () => (await alertRows()).map((row) => row.status), { timeout: 10_000 })
      .toEqual(["sent"]);
    const events = await op.ok<{ items: Array<{ action: string }> }>(
      "GET",
      `/api/v1/accounts/${account.id}/events`,
    );
    expect(events.items.map((e) => e.action)).toEqual(
      expect.arrayContaining(["security.duress_code_used", "account.disabled", "certificate.revoked"]),
    );
    const details = await op.ok<{ status: string; statusReason: string | null }>(
      "GET",
      `/api/v1/accounts/${account.id}`,
    );
    expect(details.status).toBe("disabled");
    expect((await account.device.rekey(await makeCsr(), "pin_enabled")).status).toBe(403);
  });

  it("writes the duress alert in the rekey's transaction: no alert, no new key, old key kept", async () => {
    const account = await createKeyAccount(op, t.url);
    const first = (await account.device.rekey(await makeCsr(), "initial")).json as unknown as IssuedAnswer;
    const before = await certificateCount();
    const knex = t.db.database.knex;
    await knex.schema.renameTable("outbox_messages", "outbox_messages_away");
    let status: number;
    try {
      status = (await account.device.rekey(await makeCsr(), "duress")).status;
    } finally {
      await knex.schema.renameTable("outbox_messages_away", "outbox_messages");
    }
    expect(status).toBe(500);
    expect(await certificateCount()).toBe(before);
    const listed = await op.ok<{ items: Array<{ serial: string; status: string }> }>(
      "GET",
      `/api/v1/accounts/${account.id}/certificates`,
    );
    expect(listed.items).toEqual([
      expect.objectContaining({ serial: first.certificate.serial, status: "valid" }),
    ]);
    expect(
      await knex("audit_events").where({ target_id: account.id, action: "security.duress_code_used" }),
    ).toEqual([]);
  });

  it("a duress rekey of a group without an IT e-mail (nor a parent's) still rekeys and audits that no alert went out", async () => {
    const account = await createKeyAccount(op, t.url, { itEmail: null });
    expect((await account.device.rekey(await makeCsr(), "initial")).status).toBe(201);
    expect((await account.device.rekey(await makeCsr(), "duress")).status).toBe(201);
    expect(await t.db.database.knex("outbox_messages").where({ account_id: account.id })).toEqual([]);
    const details = await op.ok<{ status: string }>("GET", `/api/v1/accounts/${account.id}`);
    expect(details.status).toBe("active");
  });

  it("signs the CRL again before its nextUpdate passes, with a higher number", async () => {
    const read = async () =>
      new x509.X509Crl(Buffer.from(await (await fetch(`${t.url}/pki/crl`)).arrayBuffer()));
    const first = await read();
    expect(first.nextUpdate?.getTime()).toBe(first.thisUpdate.getTime() + 86_400_000);
    // pki.crlRefreshAheadSeconds (3600) before nextUpdate, a new one is signed.
    clock.advance(86_400_000 - 3_600_000 + 1000);
    try {
      const second = await read();
      expect(second.thisUpdate.getTime()).toBeGreaterThan(first.thisUpdate.getTime());
      expect(second.nextUpdate?.getTime()).toBeGreaterThan(first.nextUpdate?.getTime() ?? 0);
      const text = openssl(["crl", "-inform", "DER", "-in", "crl.der", "-noout", "-text"], {
        "crl.der": Buffer.from(second.rawData),
      });
      const numbers = (await t.db.database.knex("pki_crl").select("number"))[0];
      expect(text.output).toMatch(new RegExp(`CRL Number: *\\n? *${numbers.number}\\b`));
      expect((await read()).thisUpdate.getTime()).toBe(second.thisUpdate.getTime());
    } finally {
      clock.set(new Date());
    }
  });

  it("does not re-sign the CRL for a first key, which revokes nothing", async () => {
    const crlNumber = async () => String((await t.db.database.knex("pki_crl").first("number"))?.number);
    await fetch(`${t.url}/pki/crl`);
    const before = await crlNumber();
    const account = await createKeyAccount(op, t.url);
    const answer = (await account.device.rekey(await makeCsr(), "initial")).json as unknown as IssuedAnswer;
    expect(answer.revoked).toEqual([]);
    expect(answer.crl.number).toBe(before);
    expect(await crlNumber()).toBe(before);
  });

  it("revokes a deleted account's keys", async () => {
    const account = await createKeyAccount(op, t.url);
    const issued = (await account.device.rekey(await makeCsr(), "initial")).json as unknown as IssuedAnswer;
    await op.ok("DELETE", `/api/v1/accounts/${account.id}`, undefined, 200);
    const check = await verifyWithCrl(t.url, issued.certificate.pem);
    expect(check.output).toContain("certificate revoked");
  });

  it("keeps revocation in the admin's scope and out of readers' hands", async () => {
    const account = await createKeyAccount(op, t.url);
    const other = await op.ok<{ id: string }>("POST", "/api/v1/organisations", {
      name: `Other-${process.pid}`,
    });
    const admin = await op.ok<{ id: string }>("POST", "/api/v1/users", {
      email: `admin-${process.pid}@example.net`,
      name: "Other admin",
      role: "company_admin",
      organisationId: other.id,
    });
    const token = await op.ok<{ token: string }>("POST", `/api/v1/users/${admin.id}/tokens`, {});
    const stranger = apiClient(t.url, token.token);
    expect(
      (await stranger.call("POST", `/api/v1/accounts/${account.id}/revoke-keys`, { reason: "superseded" }))
        .status,
    ).toBe(404);
    expect((await stranger.call("GET", `/api/v1/accounts/${account.id}/certificates`)).status).toBe(404);
  });
});
