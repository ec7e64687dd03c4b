import { UnauthorizedError, ValidationError } from "../errors.js";
import { withProblemHeaders } from "../http/problem.js";
import type { HttpAnswer } from "../http/route.js";
import type { LicenseClientAuthenticator } from "./client-auth.js";
import type { EnvelopeSigner } from "./envelope-signer.js";
import { type LicenseCheckBody, sipDomain } from "./schemas.js";
import { DirectLicenseModeError, type LicenseService } from "./service.js";

/** Response headers of a license check: the envelope's signature and the key that made it. */
export const envelopeSignatureHeader = "License-Signature";
export const envelopeKeyIdHeader = "License-Key-Id";
/** Where an account in direct mode checks instead, on its 409. */
export const vendorUrlHeader = "License-Vendor-Url";

/** A license check as it arrived: the Digest Authorization, the request line, the peer, the body. */
export interface LicenseCheckRequest {
  authorization: string | undefined;
  method: string;
  /** The request target as sent: the digest's uri must name it. */
  uri: string;
  address: string;
  /** Absent when the client sends it only after the challenge (then the query names the realm). */
  body: LicenseCheckBody | undefined;
}

/**
 * The one license check (POST /license/check, on the fast path and through the Koa route):
 * authenticates the client with HTTP digest over its SIP credentials and answers with the
 * signed envelope, as its exact bytes. A refusal is thrown as an AppError with the headers that
 * go with it (the digest challenge on 401, the vendor's URL on a direct-mode 409).
 */
export function licenseCheck(deps: {
  licenses: LicenseService;
  authenticator: LicenseClientAuthenticator;
  signer: EnvelopeSigner;
}): (request: LicenseCheckRequest) => Promise<HttpAnswer> {
  const { licenses, authenticator, signer } = deps;
  return async (request) => {
    const auth = await authenticator.authenticate({
      authorization: request.authorization,
      method: request.method,
      uri: request.uri,
      realm: realmOf(request),
      address: request.address,
    });
    if (!auth.ok) {
      throw withProblemHeaders(new UnauthorizedError(auth.reason), { "WWW-Authenticate": auth.challenge });
    }
    let envelope: Awaited<ReturnType<LicenseService["check"]>>;
    try {
      envelope = await licenses.check(auth.client, request.body?.fingerprint);
    } catch (error) {
      if (error instanceof DirectLicenseModeError && error.vendorUrl)
        withProblemHeaders(error, { [vendorUrlHeader]: error.vendorUrl });
      throw error;
    }
    // The signed bytes go out as they are: re-serialising would break the signature.
    return {
      status: 200,
      headers: {
        "Content-Type": "application/json; charset=utf-8",
        [envelopeSignatureHeader]: envelope.signature,
        [envelopeKeyIdHeader]: signer.keyId,
        "Cache-Control": "no-store",
      },
      body: envelope.body,
    };
  };
}

/**
 * The digest realm, known before any credentials are looked at: sipDomain from the body, or from
 * the query for a client that sends its body only once challenged (curl --digest sends an empty
 * first request). Both given must agree.
 */
function realmOf(request: LicenseCheckRequest): string {
  const query = request.uri.indexOf("?");
  const fromQuery = query < 0 ? null : new URLSearchParams(request.uri.slice(query + 1)).get("sipDomain");
  let realm: string | undefined;
  if (fromQuery !== null) {
    const parsed = sipDomain.safeParse(fromQuery);
    if (!parsed.success) {
      throw new ValidationError([
        { path: "query.sipDomain", message: parsed.error.issues[0]?.message ?? "is not a SIP domain" },
      ]);
    }
    realm = parsed.data;
  }
  const fromBody = request.body?.sipDomain;
  if (fromBody !== undefined && realm !== undefined && fromBody !== realm) {
    throw new ValidationError([
      { path: "body.sipDomain", message: "differs from the sipDomain of the query" },
    ]);
  }
  realm ??= fromBody;
  if (realm === undefined) {
    throw new ValidationError([
      {
        path: "body.sipDomain",
        message:
          "is required: in the JSON body, or as ?sipDomain= for a client that sends the body only after the digest challenge",
      },
    ]);
  }
  return realm;
}
