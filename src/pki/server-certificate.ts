import { generateKeyPairSync, webcrypto } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { join } from "node:path";
import { systemActor } from "../audit/actor.js";
import type { AuditService } from "../audit/service.js";
import type { Clock } from "../clock.js";
import type { Database } from "../db/database.js";
import { ids } from "../ids.js";
import type { Logger } from "../logger.js";
import { type CertificateAuthority, randomSerial, sha256Fingerprint } from "./certificate-authority.js";
import { pkiStore as store } from "./store.js";
import { x509 } from "./x509.js";

export const serverFileNames = { certificate: "server.crt", key: "server.key" } as const;

export interface ServerCertificateOptions {
  hostNames: readonly string[];
  validityDays: number;
  renewBeforeSeconds: number;
}

/**
 * The server's own TLS certificate (SIP over TLS and WSS) when the operator supplies none: a key
 * made here, certified by this CA for the configured host names, written to pki.dir (the chain
 * after the leaf, the key 0600) and renewed `renewBeforeSeconds` before it expires, or at once
 * when the CA or the host names changed.
 */
export class ServerCertificate {
  readonly certFile: string;
  readonly keyFile: string;

  constructor(
    dir: string,
    private readonly ca: () => CertificateAuthority,
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    private readonly options: ServerCertificateOptions,
    private readonly logger: Logger,
  ) {
    this.certFile = join(dir, serverFileNames.certificate);
    this.keyFile = join(dir, serverFileNames.key);
  }

  /** Issues a new certificate when there is none or the current one is due; true when it did. */
  async ensure(): Promise<boolean> {
    const reason = this.renewalReason();
    if (!reason) return false;
    await this.issue();
    this.logger.info(
      { certFile: this.certFile, hostNames: this.options.hostNames, reason },
      "PKI: server TLS certificate issued by the CA",
    );
    return true;
  }

  /** Checks now and then, and hands a renewed certificate to `onRenewed` (the SIP listeners). */
  schedule(onRenewed: () => void, intervalMs = 3_600_000): () => void {
    const timer = setInterval(() => {
      this.ensure()
        .then((renewed) => {
          if (renewed) onRenewed();
        })
        .catch((error: unknown) =>
          this.logger.warn({ err: error }, "PKI: renewing the server certificate failed"),
        );
    }, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  private renewalReason(): string | null {
    if (!existsSync(this.certFile) || !existsSync(this.keyFile)) return "none yet";
    let leaf: x509.X509Certificate;
    try {
      leaf = new x509.X509Certificate(readFileSync(this.certFile, "utf8"));
    } catch {
      return "the certificate file cannot be read";
    }
    const ca = this.ca();
    if (leaf.issuer !== ca.certificate.subject) return "issued by another CA";
    const aki = leaf.getExtension(x509.AuthorityKeyIdentifierExtension);
    if (aki?.keyId && aki.keyId !== ca.keyId.toString("hex")) return "issued by another CA key";
    const san = leaf.getExtension(x509.SubjectAlternativeNameExtension);
    const names = (san?.names.items ?? []).map((name) => name.value).sort();
    if (names.join(",") !== [...this.options.hostNames].sort().join(",")) return "the host names changed";
    const renewAt = leaf.notAfter.getTime() - this.options.renewBeforeSeconds * 1000;
    if (this.clock.now().getTime() >= renewAt) return "due for renewal";
    return null;
  }

  private async issue(): Promise<void> {
    const ca = this.ca();
    const now = this.clock.now();
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const cryptoPublicKey = await webcrypto.subtle.importKey(
      "spki",
      publicKey.export({ type: "spki", format: "der" }),
      { name: "ECDSA", namedCurve: "P-256" },
      true,
      ["verify"],
    );
    const notBefore = new Date(Math.floor(now.getTime() / 1000) * 1000 - 60_000);
    let notAfter = new Date(notBefore.getTime() + this.options.validityDays * 86_400_000);
    if (notAfter > ca.certificate.notAfter) notAfter = new Date(ca.certificate.notAfter);
    const hostNames = [...this.options.hostNames];
    const serial = randomSerial();
    const certificate = await x509.X509CertificateGenerator.create({
      serialNumber: serial,
      subject: [{ CN: [hostNames[0] ?? "provisiond"] }],
      issuer: ca.certificate.subjectName,
      notBefore,
      notAfter,
      publicKey: cryptoPublicKey,
      signingKey: ca.signingKey,
      signingAlgorithm: ca.algorithm.sign,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([
          x509.ExtendedKeyUsage.serverAuth,
          x509.ExtendedKeyUsage.clientAuth,
        ]),
        new x509.SubjectAlternativeNameExtension(
          hostNames.map((name) => ({ type: isIP(name) ? ("ip" as const) : ("dns" as const), value: name })),
        ),
        await x509.SubjectKeyIdentifierExtension.create(cryptoPublicKey),
        new x509.AuthorityKeyIdentifierExtension(ca.keyId.toString("hex")),
      ],
    });
    const pem = certificate.toString("pem");
    mkdirSync(join(this.certFile, ".."), { recursive: true, mode: 0o700 });
    writeAtomically(this.keyFile, privateKey.export({ type: "pkcs8", format: "pem" }) as string);
    // The chain follows the leaf, so TLS clients that know only the root can build the path.
    writeAtomically(this.certFile, `${pem}\n${ca.chainPem}`);
    await this.db.knex.transaction(async (trx) => {
      await store.insertCertificate(trx, {
        id: ids.uuid(),
        account_id: null,
        kind: "server",
        serial,
        fingerprint: sha256Fingerprint(Buffer.from(certificate.rawData)),
        subject: certificate.subject,
        subject_alt_name: hostNames.join(", "),
        key_type: "EC P-256",
        not_before: notBefore,
        not_after: notAfter,
        pem,
        issued_reason: "server",
        revoked_at: null,
        revocation_reason: null,
        created_at: now,
      });
      await this.audit.record(trx, systemActor("provisiond (server certificate)"), {
        action: "certificate.issued",
        targetType: "server",
        targetId: null,
        organisationId: null,
        groupId: null,
        after: { serial, hostNames, notAfter: notAfter.toISOString() },
      });
    });
  }
}

function writeAtomically(path: string, content: string): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, content, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
}
