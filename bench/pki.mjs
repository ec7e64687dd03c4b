#!/usr/bin/env node
// Certificates issued per second from CSRs by the PKI's issuing function (CSR parsed and its
// signature verified, the certificate built and signed by the CA, its row and audit event
// written in a transaction on the embedded database), for a CA key of ECDSA P-256 and of RSA
// 3072, against a baseline in the same run: bare crypto.sign by the same CA key over the same
// TBS bytes (the floor any issuer pays). Then the time to regenerate a CRL listing 100,000
// revoked certificates (read from the database, encoded, signed, stored).
// Environment: BENCH_CERTIFICATES (per CA type, default 300), BENCH_REVOKED (default 100000).
// Last line: `ratio <geometric mean over both CA types of issue rate / baseline rate>`.
import { randomBytes, sign, webcrypto } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = (path) => import(join(root, "dist", "src", path));
const { createPglite, openPglite } = await dist("db/database.js");
const { migrateLatest } = await dist("db/migrate.js");
const { AuditService } = await dist("audit/service.js");
const { systemActor } = await dist("audit/actor.js");
const { systemClock } = await dist("clock.js");
const { CertificateAuthority, randomSerial } = await dist("pki/certificate-authority.js");
const { CertificateIssuer } = await dist("pki/issue-certificate.js");
const { CrlPublisher } = await dist("pki/crl-publisher.js");
const { x509 } = await dist("pki/x509.js");
const { createLogger } = await dist("logger.js");

const count = Number(process.env.BENCH_CERTIFICATES ?? 300);
const revokedCount = Number(process.env.BENCH_REVOKED ?? 100_000);

/** The first element of the certificate's outer SEQUENCE: the TBSCertificate, as DER. */
function tbsOf(der) {
  const lengthAt = (offset) => {
    const first = der[offset];
    if (first < 0x80) return { length: first, header: 1 };
    const bytes = first & 0x7f;
    let length = 0;
    for (let i = 1; i <= bytes; i++) length = length * 256 + der[offset + i];
    return { length, header: 1 + bytes };
  };
  const outer = lengthAt(1);
  const start = 1 + outer.header;
  const inner = lengthAt(start + 1);
  return der.subarray(start, start + 1 + inner.header + inner.length);
}

const database = await openPglite(createPglite(), "memory");
await migrateLatest(database.knex);
const audit = new AuditService(database, systemClock);
const actor = systemActor("bench");

const keys = await webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, [
  "sign",
  "verify",
]);
const csrs = [];
for (let i = 0; i < count; i++) {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=client${i}`,
    keys,
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
  });
  csrs.push(csr.toString("pem"));
}

const ratios = [];
let lastCa;
for (const keyType of ["ecdsa-p256", "rsa-3072"]) {
  const ca = await CertificateAuthority.create({
    subject: `CN=Bench ${keyType}`,
    keyType,
    validityDays: 3650,
    now: new Date(),
  });
  lastCa = ca;
  const issuer = new CertificateIssuer(() => ca, systemClock, audit, null);
  const tbs = [];
  // Warm-up, outside the measurement.
  for (let i = 0; i < 10; i++) {
    await database.knex.transaction((trx) =>
      issuer.issueCertificate(trx, {
        holder: {
          accountId: crypto.randomUUID(),
          username: `w${i}`,
          sipDomain: "bench.example.net",
          groupId: crypto.randomUUID(),
          organisationId: crypto.randomUUID(),
        },
        csr: csrs[i],
        validityDays: 365,
        reason: "initial",
        actor,
      }),
    );
  }
  let began = performance.now();
  for (let i = 0; i < count; i++) {
    const issued = await database.knex.transaction((trx) =>
      issuer.issueCertificate(trx, {
        holder: {
          accountId: crypto.randomUUID(),
          username: `${100000 + i}`,
          sipDomain: "bench.example.net",
          groupId: crypto.randomUUID(),
          organisationId: crypto.randomUUID(),
        },
        csr: csrs[i],
        validityDays: 365,
        reason: "initial",
        actor,
      }),
    );
    tbs.push(tbsOf(Buffer.from(new x509.X509Certificate(issued.pem).rawData)));
  }
  const issueSeconds = (performance.now() - began) / 1000;
  began = performance.now();
  for (const bytes of tbs) sign(ca.algorithm.hash, bytes, { key: ca.privateKey, dsaEncoding: "der" });
  const baseSeconds = (performance.now() - began) / 1000;
  const issueRate = count / issueSeconds;
  const baseRate = count / baseSeconds;
  ratios.push(issueRate / baseRate);
  console.log(
    `${keyType.padEnd(11)} issued from CSRs ${issueRate.toFixed(1).padStart(8)}/s    bare crypto.sign of the same TBS ${baseRate.toFixed(1).padStart(9)}/s    ratio ${(issueRate / baseRate).toFixed(4)}`,
  );
}

// 100,000 revoked certificates, then one CRL regeneration over them.
const now = new Date();
const notAfter = new Date(now.getTime() + 365 * 86_400_000);
for (let done = 0; done < revokedCount; done += 5000) {
  const rows = [];
  for (let i = done; i < Math.min(revokedCount, done + 5000); i++) {
    rows.push({
      id: crypto.randomUUID(),
      account_id: crypto.randomUUID(),
      kind: "account",
      serial: randomSerial(),
      fingerprint: randomBytes(32).toString("hex"),
      subject: "CN=bench",
      subject_alt_name: "sip:bench@bench.example.net",
      key_type: "EC P-256",
      not_before: now,
      not_after: notAfter,
      pem: "-",
      issued_reason: "initial",
      revoked_at: now,
      revocation_reason: i % 2 ? "keyCompromise" : "superseded",
      created_at: now,
    });
  }
  await database.knex.batchInsert("certificates", rows, 1000);
}
const publisher = new CrlPublisher(
  database,
  () => lastCa,
  systemClock,
  { validitySeconds: 86_400, refreshAheadSeconds: 3600 },
  createLogger("silent"),
);
const times = [];
let size = 0;
for (let round = 0; round < 3; round++) {
  const began = performance.now();
  const crl = await database.knex.transaction((trx) => publisher.regenerate(trx));
  times.push(performance.now() - began);
  size = crl.der.length;
}
times.sort((a, b) => a - b);
console.log(
  `CRL with ${revokedCount.toLocaleString("en")} revoked entries (rsa-3072 CA): regenerated in ${(times[1] / 1000).toFixed(2)} s (median of 3), ${(size / 1e6).toFixed(1)} MB DER`,
);
await database.close();
const geometric = Math.exp(ratios.reduce((sum, r) => sum + Math.log(r), 0) / ratios.length);
console.log(`ratio ${geometric.toFixed(4)}`);
