import { describe, expect, it } from "vitest";
import { CertificateAuthority, randomSerial } from "../../src/pki/certificate-authority.js";
import { buildCrl, type CrlEntry, crlPem } from "../../src/pki/crl.js";
import { x509 } from "../../src/pki/x509.js";
import { openssl } from "./fixture.js";

describe("the CRL encoder", () => {
  for (const keyType of ["ecdsa-p256", "rsa-3072"] as const) {
    it(`writes a v2 CRL that @peculiar/x509 and openssl read and verify (${keyType} CA, 20,000 entries)`, async () => {
      const now = new Date("2026-06-01T12:00:00Z");
      const ca = await CertificateAuthority.create({
        subject: "CN=CRL test CA",
        keyType,
        validityDays: 3650,
        now,
      });
      const reasons = ["keyCompromise", "superseded", "unspecified", "cessationOfOperation"] as const;
      const entries: CrlEntry[] = Array.from({ length: 20_000 }, (_, i) => ({
        serial: i === 0 ? "00ff01" : randomSerial(),
        revokedAt: new Date(now.getTime() - i * 1000),
        reason: reasons[i % reasons.length] as CrlEntry["reason"],
      }));
      const der = buildCrl({
        ca,
        number: 42n,
        thisUpdate: now,
        nextUpdate: new Date("2050-01-01T00:00:00Z"),
        entries,
      });
      // @peculiar/x509's parser stops at a node count well below 20,000 entries: it reads the first 200.
      const small = buildCrl({
        ca,
        number: 42n,
        thisUpdate: now,
        nextUpdate: new Date("2050-01-01T00:00:00Z"),
        entries: entries.slice(0, 200),
      });
      const crl = new x509.X509Crl(small);
      expect(await crl.verify({ publicKey: ca.certificate.publicKey })).toBe(true);
      expect(crl.entries).toHaveLength(200);
      expect(crl.entries[1]?.serialNumber.replace(/^0+/, "")).toBe(entries[1]?.serial);
      expect(crl.entries[0]?.reason).toBe(x509.X509CrlReason.keyCompromise);
      expect(crl.entries[2]?.reason).toBeUndefined();
      expect(crl.thisUpdate.toISOString()).toBe(now.toISOString());
      // 2050 and later is written as GeneralizedTime (RFC 5280 section 5.1.2.4).
      expect(crl.nextUpdate?.toISOString()).toBe("2050-01-01T00:00:00.000Z");

      const text = openssl(["crl", "-in", "crl.pem", "-CAfile", "ca.pem", "-noout", "-text"], {
        "crl.pem": crlPem(der),
        "ca.pem": ca.chainPem,
      });
      expect(text.ok, text.output).toBe(true);
      expect(text.output).toContain("verify OK");
      expect(text.output).toMatch(/CRL Number: *\n? *42\b/);
      expect(text.output.match(/Serial Number:/g)).toHaveLength(20_000);
      expect(text.output).toContain("Serial Number: FF01");
    });
  }

  it("writes an empty CRL without a revokedCertificates list", async () => {
    const now = new Date();
    const ca = await CertificateAuthority.create({
      subject: "CN=Empty",
      keyType: "ecdsa-p256",
      validityDays: 30,
      now,
    });
    const der = buildCrl({
      ca,
      number: 1n,
      thisUpdate: now,
      nextUpdate: new Date(now.getTime() + 86_400_000),
      entries: [],
    });
    const crl = new x509.X509Crl(der);
    expect(crl.entries).toEqual([]);
    expect(await crl.verify({ publicKey: ca.certificate.publicKey })).toBe(true);
  });
});
