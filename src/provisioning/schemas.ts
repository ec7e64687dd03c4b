import { z } from "zod";
import { announcementLanguages, codecs, digestAlgorithmNames } from "../accounts/schemas.js";

const timestamp = z.iso.datetime();
const fingerprint = z
  .string()
  .regex(/^[0-9A-F]{2}(:[0-9A-F]{2}){31}$/)
  .describe("SHA-256 over the DER certificate, upper-case hex pairs joined by colons");

/** The secret of an activation link: 32 random bytes, base64url (43 characters). */
export const tokenParams = z.object({
  token: z.string().regex(/^[A-Za-z0-9_-]{16,128}$/, "is not an activation token"),
});

const printable = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .regex(/^[\x20-\x7E]+$/, "must be printable ASCII");

export const devicePlatforms = ["ios", "android"] as const;

export const deviceSchema = z
  .object({
    platform: z.enum(devicePlatforms),
    model: printable(100).describe("e.g. iPhone15,2 or Pixel 8"),
    osVersion: printable(50),
    appVersion: printable(50),
    pushToken: z.string().trim().min(1).max(4096).nullable().optional().describe("APNs or FCM token"),
  })
  .strict()
  .meta({ id: "ActivationDevice" });

export const activationBody = z
  .object({
    csr: z
      .string()
      .min(1)
      .max(16_384)
      .describe("PKCS#10 request for the app's TLS key, PEM (or DER in base64); the key stays on the device"),
    device: deviceSchema,
  })
  .strict()
  .meta({ id: "Activation" });

const serverIdentity = z
  .object({
    url: z
      .string()
      .describe("This server's base URL: activation links, license checks and the PKI are under it"),
    caFingerprint: fingerprint.describe(
      "The server's identity: the SHA-256 fingerprint of its CA certificate. The app pins it at activation and refuses an activation link whose server shows another",
    ),
  })
  .strict();

/** GET /a/{token}: what the app needs before it makes its key and activates. */
export const activationIntroSchema = z
  .object({
    server: serverIdentity,
    account: z.object({ displayName: z.string().nullable() }).strict(),
    expiresAt: timestamp,
    activation: z
      .object({
        method: z.literal("POST"),
        url: z.string().describe("Where to POST { csr, device }: this link"),
        keyTypes: z.array(z.string()).describe("Key types the CA certifies"),
        devicePlatforms: z.array(z.enum(devicePlatforms)),
      })
      .strict(),
  })
  .strict()
  .meta({ id: "ActivationIntro" });

export const documentVersion = 1;

/** The configuration document: the answer to POST /a/{token}, published as a JSON Schema in docs/. */
export const configurationDocumentSchema = z
  .object({
    version: z
      .literal(documentVersion)
      .describe("The document's schema version; a change that breaks readers raises it"),
    issuedAt: timestamp,
    server: serverIdentity,
    account: z
      .object({
        id: z.uuid(),
        displayName: z.string().nullable(),
        sipUri: z
          .string()
          .describe("sip:<username>@<domain>, the address of record and the certificate's SAN"),
      })
      .strict(),
    sip: z
      .object({
        username: z.string().describe("User part of the SIP identity and the digest user name"),
        password: z.string().min(1).describe("The digest password, new with this activation"),
        domain: z.string().describe("SIP domain: the From/To host and the digest realm"),
        host: z.string().describe("Where the app connects (outbound proxy and registrar)"),
        transports: z
          .array(
            z
              .object({
                transport: z.enum(["tls", "wss", "tcp", "udp"]),
                port: z.number().int().min(1).max(65535),
                path: z.string().optional().describe("WebSocket path (wss only)"),
              })
              .strict(),
          )
          .min(1)
          .describe("The transports to use, in order of preference (only tls and wss when tlsRequired)"),
        tlsRequired: z.boolean(),
        registrationExpirySeconds: z.number().int().min(1),
        keepAliveSeconds: z
          .number()
          .int()
          .min(0)
          .describe("CRLF keep-alive interval on connections; 0: none"),
        digestAlgorithms: z
          .array(z.enum(digestAlgorithmNames))
          .min(1)
          .describe("The algorithms the registrar challenges with, preferred first"),
      })
      .strict(),
    media: z
      .object({
        srtp: z.enum(["disabled", "optional", "mandatory"]),
        codecs: z.array(z.enum(codecs)).min(1).describe("In order of preference"),
      })
      .strict(),
    tls: z
      .object({
        caChainPem: z
          .string()
          .describe(
            "The CA certificate (then its parents), PEM: trust anchor for SIP TLS and for peers' certificates",
          ),
        certificatePem: z.string().describe("The app's certificate, issued from its CSR, PEM"),
        certificate: z
          .object({ serial: z.string(), fingerprint, notBefore: timestamp, notAfter: timestamp })
          .strict(),
      })
      .strict(),
    announcementLanguage: z.enum(announcementLanguages),
    license: z
      .object({
        mode: z
          .enum(["proxy", "direct"])
          .describe("proxy: check at checkUrl on this server; direct: ask the vendor"),
        checkUrl: z
          .string()
          .nullable()
          .describe("proxy: this server's /license/check; direct: the vendor's URL if one is configured"),
        licenseKey: z.string().nullable(),
        signingKey: z
          .object({ keyId: z.string(), publicKeyPem: z.string() })
          .strict()
          .nullable()
          .describe("proxy: the Ed25519 key license answers are signed with, to pin; direct: null"),
      })
      .strict(),
  })
  .strict()
  .meta({ id: "ConfigurationDocument" });
export type ConfigurationDocument = z.output<typeof configurationDocumentSchema>;
