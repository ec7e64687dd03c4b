import { createHash } from "node:crypto";
import type { Knex } from "knex";
import type { Actor, SystemActor } from "../audit/actor.js";
import type { AuditService } from "../audit/service.js";
import type { Clock } from "../clock.js";
import { ids } from "../ids.js";
import type { CertificateAuthority } from "./certificate-authority.js";
import { randomSerial, sha256Fingerprint } from "./certificate-authority.js";
import { checkCsr } from "./csr.js";
import { subjectPublicKeyBits } from "./der.js";
import { type CertificateRow, pkiStore as store } from "./store.js";
import { x509 } from "./x509.js";

/** Why an account's key is certified: the provisioning activation, or one of the rekey reasons. */
export const issueReasons = ["activation", "initial", "pin_enabled", "pin_disabled", "duress"] as const;
export type IssueReason = (typeof issueReasons)[number];

/** The account a certificate is for, as the PKI needs it. */
export interface CertificateHolder {
  accountId: string;
  username: string;
  sipDomain: string;
  groupId: string;
  organisationId: string;
}

export interface CertificateRequest {
  holder: CertificateHolder;
  /** The client's PKCS#10 request, PEM (or DER in base64); its key never leaves the client. */
  csr: string;
  /** From the account's profile (certificateValidityDays). */
  validityDays: number;
  reason: IssueReason;
  /** Who asked, for the audit trail: the client itself (a system actor naming it) or an admin. */
  actor: Actor | SystemActor;
  /** Where a CSR field error is reported (body.csr for a route taking `csr`). */
  csrPath?: string;
}

export interface IssuedCertificate {
  row: CertificateRow;
  /** The new certificate, PEM. */
  pem: string;
  /** The CA's chain, PEM: the CA first, then its parents. */
  chainPem: string;
}

/** The signature the provisioning capability calls during activation, inside its own transaction. */
export type IssueCertificate = (trx: Knex, request: CertificateRequest) => Promise<IssuedCertificate>;

/** The SAN every account certificate carries: the account's SIP address of record. */
export const sipAddress = (holder: { username: string; sipDomain: string }): string =>
  `sip:${holder.username}@${holder.sipDomain}`;

/**
 * Certifies a client's key from its CSR: the CSR's signature and key are checked, and everything
 * it asks for is ignored; the subject (CN = username), SAN, key usages, a random 128-bit serial
 * and the validity are the server's. The row and the audit event are written in `trx`, so the
 * certificate exists exactly when the caller's transaction commits.
 */
export class CertificateIssuer {
  constructor(
    private readonly ca: () => CertificateAuthority,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    private readonly crlDistributionUrl: string | null,
  ) {}

  readonly issueCertificate: IssueCertificate = async (trx, request) => {
    const csr = await checkCsr(request.csr, request.csrPath);
    const ca = this.ca();
    const { holder } = request;
    const now = this.clock.now();
    // A little backdating, so a client whose clock is a minute behind accepts its certificate.
    const notBefore = new Date(Math.floor(now.getTime() / 1000) * 1000 - 60_000);
    let notAfter = new Date(notBefore.getTime() + 60_000 + request.validityDays * 86_400_000);
    if (notAfter > ca.certificate.notAfter) notAfter = new Date(ca.certificate.notAfter);
    const isRsa = csr.keyType.startsWith("RSA");
    const extensions: x509.Extension[] = [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature |
          (isRsa ? x509.KeyUsageFlags.keyEncipherment : x509.KeyUsageFlags.keyAgreement),
        true,
      ),
      new x509.ExtendedKeyUsageExtension([
        x509.ExtendedKeyUsage.clientAuth,
        x509.ExtendedKeyUsage.emailProtection,
      ]),
      new x509.SubjectAlternativeNameExtension([{ type: "url", value: sipAddress(holder) }]),
      // RFC 5280 section 4.2.1.2 method 1, with Node's hash (x509's goes through WebCrypto, slower).
      new x509.SubjectKeyIdentifierExtension(
        createHash("sha1")
          .update(subjectPublicKeyBits(Buffer.from(csr.publicKey.rawData)))
          .digest("hex"),
      ),
      new x509.AuthorityKeyIdentifierExtension(ca.keyId.toString("hex")),
      ...(this.crlDistributionUrl
        ? [new x509.CRLDistributionPointsExtension([this.crlDistributionUrl])]
        : []),
    ];
    const serial = randomSerial();
    const certificate = await x509.X509CertificateGenerator.create({
      serialNumber: serial,
      subject: [{ CN: [holder.username] }],
      issuer: ca.certificate.subjectName,
      notBefore,
      notAfter,
      publicKey: csr.publicKey,
      signingKey: ca.signingKey,
      signingAlgorithm: ca.algorithm.sign,
      extensions,
    });
    const pem = certificate.toString("pem");
    const row: CertificateRow = {
      id: ids.uuid(),
      account_id: holder.accountId,
      kind: "account",
      serial,
      fingerprint: sha256Fingerprint(Buffer.from(certificate.rawData)),
      subject: certificate.subject,
      subject_alt_name: sipAddress(holder),
      key_type: csr.keyType,
      not_before: notBefore,
      not_after: notAfter,
      pem,
      issued_reason: request.reason,
      revoked_at: null,
      revocation_reason: null,
      created_at: now,
    };
    await store.insertCertificate(trx, row);
    await this.audit.record(trx, request.actor, {
      action: "certificate.issued",
      targetType: "account",
      targetId: holder.accountId,
      organisationId: holder.organisationId,
      groupId: holder.groupId,
      after: {
        serial,
        fingerprint: row.fingerprint,
        keyType: csr.keyType,
        notBefore: notBefore.toISOString(),
        notAfter: notAfter.toISOString(),
        reason: request.reason,
      },
    });
    return { row, pem, chainPem: ca.chainPem };
  };
}
