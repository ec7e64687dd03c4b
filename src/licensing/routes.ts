import { defineRoute, forRoles, publicAccess, type Route } from "../http/route.js";
import { writerRoles } from "../tenancy/roles.js";
import { licenseCheck } from "./check-license.js";
import type { LicenseClientAuthenticator } from "./client-auth.js";
import type { EnvelopeSigner } from "./envelope-signer.js";
import {
  accountIdParams,
  licenseDetailsSchema,
  licenseEnvelopeSchema,
  optionalLicenseCheckBody,
  publicKeySchema,
} from "./schemas.js";
import type { LicenseService } from "./service.js";

const tags = ["licensing"];

export { envelopeKeyIdHeader, envelopeSignatureHeader, vendorUrlHeader } from "./check-license.js";

export function licensingRoutes(deps: {
  licenses: LicenseService;
  authenticator: LicenseClientAuthenticator;
  signer: EnvelopeSigner;
}): Route[] {
  const { licenses, signer } = deps;
  const check = licenseCheck(deps);
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
        "Check the license of an automatically activated client (HTTP digest with its SIP credentials; the realm is sipDomain, from the body or from ?sipDomain= for clients that send the body only after the challenge, as curl --digest does)",
      tags,
      access: publicAccess,
      request: { body: optionalLicenseCheckBody },
      response: {
        status: 200,
        description:
          "The license status in an envelope signed by this server: the Ed25519 signature over the exact body bytes is in the License-Signature header (base64), the key's id in License-Key-Id",
        schema: licenseEnvelopeSchema,
      },
      problems: [400, 401, 403, 409, 422, 429, 503],
      // Devices repeat it all day: served in front of the Koa app too (src/http/fast-path.ts).
      fastPath: true,
      handle: ({ body, request }) =>
        check({
          authorization: request.headers.authorization,
          method: request.method,
          uri: request.url,
          address: request.remoteAddress,
          body,
        }),
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
