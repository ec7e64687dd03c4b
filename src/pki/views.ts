import type { CertificateRow } from "./store.js";

export type CertificateStatus = "valid" | "revoked" | "expired";

export function certificateStatus(row: CertificateRow, now: Date): CertificateStatus {
  if (row.revoked_at) return "revoked";
  return new Date(row.not_after) <= now ? "expired" : "valid";
}

/** A certificate as the account's details and its certificate list show it. */
export function certificateView(row: CertificateRow, now: Date) {
  return {
    serial: row.serial,
    fingerprint: row.fingerprint,
    subject: row.subject,
    subjectAltName: row.subject_alt_name,
    keyType: row.key_type,
    notBefore: new Date(row.not_before).toISOString(),
    notAfter: new Date(row.not_after).toISOString(),
    status: certificateStatus(row, now),
    issuedReason: row.issued_reason,
    revokedAt: row.revoked_at ? new Date(row.revoked_at).toISOString() : null,
    reason: row.revocation_reason,
  };
}
export type CertificateView = ReturnType<typeof certificateView>;
