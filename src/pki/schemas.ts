import { z } from "zod";
import { usernamePattern } from "../accounts/identifiers.js";
import type { revocationReasonNames } from "./crl.js";

const timestamp = z.iso.datetime();

export const certificateSchema = z
  .object({
    serial: z.string().describe("hexadecimal, as openssl prints it"),
    fingerprint: z.string().describe("SHA-256 of the DER, colon-separated hex"),
    subject: z.string(),
    subjectAltName: z.string(),
    keyType: z.string(),
    notBefore: timestamp,
    notAfter: timestamp,
    status: z.enum(["valid", "revoked", "expired"]),
    issuedReason: z.string(),
    revokedAt: timestamp.nullable(),
    reason: z.string().nullable().describe("RFC 5280 revocation reason"),
  })
  .meta({ id: "Certificate" });

export const crlReferenceSchema = z
  .object({
    number: z.string().describe("the CRL number, which only grows"),
    thisUpdate: timestamp,
    nextUpdate: timestamp,
    url: z.string().describe("DER"),
    pemUrl: z.string(),
  })
  .meta({ id: "CrlReference" });

export const accountIdParams = z.object({ id: z.uuid() }).strict();

/** Reasons an operator may give; certificateHold (which can be lifted) and cACompromise are not for account keys. */
export const adminRevocationReasons = [
  "unspecified",
  "keyCompromise",
  "affiliationChanged",
  "superseded",
  "cessationOfOperation",
  "privilegeWithdrawn",
] as const satisfies readonly (typeof revocationReasonNames)[number][];

export const revokeKeysBody = z.object({ reason: z.enum(adminRevocationReasons) }).strict();

export const revokeKeysAnswer = z
  .object({
    accountId: z.uuid(),
    revoked: z.array(certificateSchema),
    crl: crlReferenceSchema,
  })
  .meta({ id: "RevokedKeys" });

export const certificateList = z
  .object({ items: z.array(certificateSchema) })
  .meta({ id: "CertificateList" });

export const rekeyReasons = ["initial", "pin_enabled", "pin_disabled", "duress"] as const;

const sipDomain = z.string().trim().toLowerCase().min(1).max(253);

export const rekeyBody = z
  .object({
    sipDomain,
    csr: z.string().min(1).max(16_384).describe("PKCS#10, PEM or DER in base64"),
    reason: z.enum(rekeyReasons, {
      error: () =>
        "must be initial (first key, or after Revoke all keys), pin_enabled, pin_disabled or duress; a key is changed for no other reason",
    }),
  })
  .strict();

export const rekeyAnswer = z
  .object({
    certificate: certificateSchema.extend({ pem: z.string() }),
    chainPem: z.string().describe("the CA chain, the issuing CA first"),
    revoked: z.array(certificateSchema).describe("the account's older keys, revoked by this rekey"),
    crl: crlReferenceSchema,
  })
  .meta({ id: "Rekey" });

export const keyDirectoryParams = z
  .object({ username: z.string().regex(usernamePattern, "is not a SIP username") })
  .strict();
export const keyDirectoryQuery = z.object({ sipDomain }).strict();

export const keyDirectoryAnswer = z
  .object({
    username: z.string(),
    sipDomain: z.string(),
    certificates: z.array(
      z.object({
        serial: z.string(),
        fingerprint: z.string(),
        notBefore: timestamp,
        notAfter: timestamp,
        pem: z.string(),
      }),
    ),
  })
  .meta({ id: "KeyDirectoryEntry" });
