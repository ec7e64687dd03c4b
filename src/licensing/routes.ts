import { UnauthorizedError } from "../errors.js";
import { defineRoute, forRoles, publicAccess, type Route } from "../http/route.js";
import { writerRoles } from "../tenancy/roles.js";
import type { LicenseClientAuthenticator } from "./client-auth.js";
import type { EnvelopeSigner } from "./envelope-signer.js";
import {
  accountIdParams,
  licenseCheckBody,
  licenseDetailsSchema,
  licenseEnvelopeSchema,
  publicKeySchema,
} from "./schemas.js";
import { DirectLicenseModeError, type LicenseService } from "./service.js";

const tags = ["licensing"];

/** Response headers of a license check: the envelope's signature and the key that made it. */
export const envelopeSignatureHeader = "License-Signature";
export const envelopeKeyIdHeader = "License-Key-Id";
export const vendorUrlHeader = "License-Vendor-Url";

export function licensingRoutes(deps: {
  licenses: LicenseService;
  authenticator: LicenseClientAuthenticator;
  signer: EnvelopeSigner;
}): Route[] {
  const { licenses, authenticator, signer } = deps;
  const publicKey = {
    algorithm: "Ed25519" as const,
    keyId: signer.keyId,
    publicKeyPem: signer.publicKeyPem,
    publicKeyRaw: signer.publicKeyRaw,
  };
  return [
    defineRoute({
      operationId: "checkLicense",
      method: "post",
      path: "/license/check",
      summary:
        "Check the license of an automatically activated client (HTTP digest with its SIP credentials)",
      tags,
      access: publicAccess,
      request: { body: licenseCheckBody },
      response: {
        status: 200,
        description:
          "The license status in an envelope signed by this server: the Ed25519 signature over the exact body bytes is in the License-Signature header (base64), the key's id in License-Key-Id",
        schema: licenseEnvelopeSchema,
      },
      problems: [401, 403, 409, 422, 429, 503],
      handle: async ({ body, ctx }) => {
        const auth = await authenticator.authenticate({
          authorization: ctx.get("Authorization") || undefined,
          method: ctx.method,
          uri: ctx.url,
          realm: body.sipDomain,
          address: ctx.ip,
        });
        if (!auth.ok) {
          ctx.set("WWW-Authenticate", auth.challenge);
          throw new UnauthorizedError(auth.reason);
        }
        let envelope: Awaited<ReturnType<LicenseService["check"]>>;
        try {
          envelope = await licenses.check(auth.client, body.fingerprint);
        } catch (error) {
          if (error instanceof DirectLicenseModeError && error.vendorUrl)
            ctx.set(vendorUrlHeader, error.vendorUrl);
          throw error;
        }
        // The signed bytes go out as they are: re-serialising would break the signature.
        ctx.status = 200;
        ctx.type = "application/json";
        ctx.set(envelopeSignatureHeader, envelope.signature);
        ctx.set(envelopeKeyIdHeader, signer.keyId);
        ctx.set("Cache-Control", "no-store");
        ctx.body = envelope.body;
        return undefined;
      },
    }),
    defineRoute({
      operationId: "getLicensePublicKey",
      method: "get",
      path: "/license/public-key",
      summary: "The public key that verifies license check envelopes",
      tags,
      access: publicAccess,
      response: { status: 200, description: "This server's Ed25519 envelope key", schema: publicKeySchema },
      handle: () => publicKey,
    }),
    defineRoute({
      operationId: "refreshAccountLicense",
      method: "post",
      path: "/api/v1/accounts/{id}/license/refresh",
      summary: "Force a license check with the vendor",
      tags,
      access: forRoles(...writerRoles),
      request: { params: accountIdParams },
      response: {
        status: 200,
        description: "The account's license section after the check",
        schema: licenseDetailsSchema,
      },
      problems: [422, 503],
      handle: (input) => licenses.refresh(input.actor, input.params.id),
    }),
  ];
}
