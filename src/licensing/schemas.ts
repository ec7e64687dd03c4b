import { z } from "zod";
import { hostnamePattern } from "../accounts/identifiers.js";

/** The answers a vendor gives (docs/license-protocol.md). */
export const vendorCodes = [
  "VALID",
  "EXPIRED",
  "SUSPENDED",
  "BANNED",
  "NOT_FOUND",
  "TOO_MANY_DEVICES",
  "FINGERPRINT_MISMATCH",
] as const;
export type VendorCode = (typeof vendorCodes)[number];

/** Codes this proxy adds when it cannot give the vendor's word. */
export const proxyCodes = ["GRACE_EXPIRED"] as const;

export const licenseSources = ["vendor", "cache", "stale"] as const;
export type LicenseSource = (typeof licenseSources)[number];

const timestamp = z.iso.datetime({ offset: true });

/** The vendor's `license` object; unknown fields are kept out of what we store and sign. */
export const vendorLicenseSchema = z.object({
  key: z.string().min(1).max(200),
  status: z.string().min(1).max(50),
  expiry: timestamp.nullable().optional(),
  entitlements: z.array(z.string().max(100)).max(100).optional(),
  maxDevices: z.number().int().min(0).nullable().optional(),
});
export type VendorLicense = z.output<typeof vendorLicenseSchema>;

/** The body of a vendor's answer to POST /licenses/validate. */
/**
 * A code: the known ones (vendorCodes) or any other the vendor adds later, which reads as an
 * invalid license with that code rather than as a malformed answer (a new code must not turn
 * every check into an outage).
 */
const answerCode = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_.-]+$/, "must be a code word");

export const vendorAnswerSchema = z.object({
  valid: z.boolean(),
  code: answerCode,
  detail: z.string().max(1000).nullable().optional(),
  nonce: z.string().min(1).max(200),
  ttl: z.number().int().min(0).optional(),
  license: vendorLicenseSchema.nullable().optional(),
});
export type VendorAnswer = z.output<typeof vendorAnswerSchema>;

// Device-facing

export const sipDomain = z
  .string()
  .trim()
  .toLowerCase()
  .max(253)
  .regex(hostnamePattern, "must be the SIP domain the app registers to");

export const licenseCheckBody = z
  .object({
    /** The digest realm: the SIP domain of the account's profile. */
    sipDomain,
    /** Identifies the device to the vendor; the account id when absent. */
    fingerprint: z
      .string()
      .min(1)
      .max(200)
      .regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces")
      .optional(),
  })
  .strict()
  .meta({ id: "LicenseCheckRequest" });
export type LicenseCheckBody = z.output<typeof licenseCheckBody>;

/**
 * The body is optional: a client that sends it only after the digest challenge (curl --digest
 * sends an empty first request) names the realm as `?sipDomain=` instead.
 */
export const optionalLicenseCheckBody = licenseCheckBody.optional();

export const envelopeLicenseSchema = z.object({
  status: z.string(),
  expiry: z.string().nullable(),
  entitlements: z.array(z.string()),
  maxDevices: z.number().int().nullable(),
});

/** What POST /license/check answers; the signature over these exact bytes is in headers. */
export const licenseEnvelopeSchema = z
  .object({
    version: z.literal(1),
    accountId: z.uuid(),
    username: z.string(),
    sipDomain: z.string(),
    licenseKey: z.string(),
    fingerprint: z.string(),
    valid: z.boolean(),
    code: z.string().meta({
      description: `The vendor's code (${vendorCodes.join(", ")}, or one it added since, which is never valid) or this proxy's (${proxyCodes.join(", ")})`,
    }),
    detail: z.string().nullable(),
    license: envelopeLicenseSchema.nullable(),
    checkedAt: timestamp,
    source: z.enum(licenseSources),
    ttl: z.number().int(),
    graceUntil: timestamp.nullable(),
  })
  .meta({ id: "LicenseEnvelope", description: "Signed with the key at GET /license/public-key" });
export type LicenseEnvelope = z.output<typeof licenseEnvelopeSchema>;

export const publicKeySchema = z
  .object({
    algorithm: z.literal("Ed25519"),
    keyId: z.string(),
    publicKeyPem: z.string(),
    publicKeyRaw: z.string().meta({ description: "The 32-byte public key, base64url" }),
  })
  .meta({ id: "LicensePublicKey" });

// Admin

/** The `license` section of the account refresh, and the answer to a forced refresh. */
export const licenseDetailsSchema = z
  .object({
    licenseKey: z.string().nullable(),
    licenseMode: z.enum(["proxy", "direct"]),
    checked: z.boolean(),
    valid: z.boolean().nullable(),
    status: z.string().nullable(),
    code: z.string().nullable(),
    detail: z.string().nullable(),
    expiry: z.string().nullable(),
    lastCheckedAt: timestamp.nullable(),
    source: z.enum(licenseSources).nullable(),
    freshUntil: timestamp.nullable(),
    graceUntil: timestamp.nullable(),
    lastFailureAt: timestamp.nullable(),
    lastFailure: z.string().nullable(),
  })
  .meta({ id: "AccountLicense" });
export type LicenseDetails = z.output<typeof licenseDetailsSchema>;

export const accountIdParams = z.object({ id: z.uuid() }).strict();
