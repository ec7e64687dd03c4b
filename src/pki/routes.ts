import { z } from "zod";
import type { ClientAuthResult } from "../auth/http-digest-clients.js";
import { UnauthorizedError } from "../errors.js";
import { withProblemHeaders } from "../http/problem.js";
import { defineRoute, forRoles, publicAccess, type RawRequest, type Route } from "../http/route.js";
import { roles, writerRoles } from "../tenancy/roles.js";
import type { AccountKeys } from "./account-keys.js";
import type { CertificateAuthority } from "./certificate-authority.js";
import type { CrlPublisher } from "./crl-publisher.js";
import type { KeyDirectory } from "./key-directory.js";
import type { Rekeying } from "./rekey.js";
import {
  accountIdParams,
  certificateList,
  keyDirectoryAnswer,
  keyDirectoryParams,
  keyDirectoryQuery,
  rekeyAnswer,
  rekeyBody,
  revokeKeysAnswer,
  revokeKeysBody,
} from "./schemas.js";

const tags = ["pki"];

/** A device authenticated with its SIP credentials, as the PKI's client routes need it. */
export interface PkiClient {
  accountId: string;
  status: "pending_activation" | "active" | "disabled";
}

export type AuthenticatePkiClient = (input: {
  authorization: string | undefined;
  method: string;
  uri: string;
  realm: string;
  address: string;
}) => Promise<ClientAuthResult<PkiClient>>;

async function authenticated(
  authenticate: AuthenticatePkiClient,
  request: RawRequest,
  realm: string,
): Promise<PkiClient> {
  const auth = await authenticate({
    authorization: request.headers.authorization,
    method: request.method,
    uri: request.url,
    realm,
    address: request.remoteAddress,
  });
  if (!auth.ok)
    throw withProblemHeaders(new UnauthorizedError(auth.reason), { "WWW-Authenticate": auth.challenge });
  return auth.client;
}

export function pkiRoutes(deps: {
  ca: () => CertificateAuthority;
  crl: CrlPublisher;
  accountKeys: AccountKeys;
  directory: KeyDirectory;
  rekeying: Rekeying;
  authenticate: AuthenticatePkiClient;
}): Route[] {
  const { crl, accountKeys, directory, rekeying, authenticate } = deps;
  return [
    defineRoute({
      operationId: "revokeAccountKeys",
      method: "post",
      path: "/api/v1/accounts/{id}/revoke-keys",
      summary:
        "Revoke all keys: every valid certificate of the account is revoked and the CRL regenerated in the same request",
      tags,
      access: forRoles(...writerRoles),
      request: { params: accountIdParams, body: revokeKeysBody },
      response: {
        status: 200,
        description: "The certificates revoked and the CRL that lists them",
        schema: revokeKeysAnswer,
      },
      handle: (input) => accountKeys.revokeAll(input.actor, input.params.id, input.body.reason),
    }),
    defineRoute({
      operationId: "listAccountCertificates",
      method: "get",
      path: "/api/v1/accounts/{id}/certificates",
      summary: "The account's certificates: serial, fingerprint, validity, status, revocation",
      tags,
      access: forRoles(...roles),
      request: { params: accountIdParams },
      response: {
        status: 200,
        description: "The account's certificates, newest first",
        schema: certificateList,
      },
      handle: (input) => accountKeys.list(input.actor, input.params.id),
    }),
    defineRoute({
      operationId: "getCaChain",
      method: "get",
      path: "/pki/ca.pem",
      summary: "The CA's certificate chain (PEM), the issuing CA first",
      tags,
      access: publicAccess,
      response: {
        status: 200,
        description: "PEM certificates",
        schema: z.string(),
        contentType: "application/pem-certificate-chain",
      },
      handle: ({ ctx }) => {
        ctx.type = "application/pem-certificate-chain";
        ctx.body = deps.ca().chainPem;
        return undefined;
      },
    }),
    defineRoute({
      operationId: "getCrl",
      method: "get",
      path: "/pki/crl",
      summary: "The current CRL (DER)",
      tags,
      access: publicAccess,
      response: { status: 200, description: "DER CRL", contentType: "application/pkix-crl" },
      handle: async ({ ctx }) => {
        const current = await crl.current();
        ctx.type = "application/pkix-crl";
        ctx.set("Cache-Control", cacheControl(current));
        ctx.body = current.der;
        return undefined;
      },
    }),
    defineRoute({
      operationId: "getCrlPem",
      method: "get",
      path: "/pki/crl.pem",
      summary: "The current CRL (PEM)",
      tags,
      access: publicAccess,
      response: {
        status: 200,
        description: "PEM CRL",
        schema: z.string(),
        contentType: "application/x-pem-file",
      },
      handle: async ({ ctx }) => {
        const current = await crl.current();
        ctx.type = "application/x-pem-file";
        ctx.set("Cache-Control", cacheControl(current));
        ctx.body = current.pem;
        return undefined;
      },
    }),
    defineRoute({
      operationId: "getAccountKeys",
      method: "get",
      path: "/pki/keys/{username}",
      summary:
        "An account's currently valid certificates, to encrypt to it (HTTP digest with SIP credentials of the same SIP domain)",
      tags,
      access: publicAccess,
      request: { params: keyDirectoryParams, query: keyDirectoryQuery },
      response: { status: 200, description: "The valid certificates (PEM)", schema: keyDirectoryAnswer },
      problems: [401, 403, 404, 429],
      handle: async ({ params, query, request }) => {
        await authenticated(authenticate, request, query.sipDomain);
        return directory.keysOf(params.username, query.sipDomain);
      },
    }),
    defineRoute({
      operationId: "rekeyClient",
      method: "post",
      path: "/client/rekey",
      summary:
        "Upload a new keypair's CSR: only as the first key (initial), when the PIN is enabled or disabled, or with the duress code (HTTP digest, SIP credentials)",
      tags,
      access: publicAccess,
      request: { body: rekeyBody },
      response: {
        status: 201,
        description: "The new certificate, the older keys revoked and the CRL that lists them",
        schema: rekeyAnswer,
      },
      problems: [401, 403, 409, 429],
      handle: async ({ body, request }) => {
        const client = await authenticated(authenticate, request, body.sipDomain);
        return rekeying.rekey(client, body, request.remoteAddress);
      },
    }),
  ];
}

/** Caches may keep a CRL a few minutes: a revocation is then seen by relying parties soon after. */
function cacheControl(current: { thisUpdate: Date; nextUpdate: Date }): string {
  const lifetime = Math.floor((current.nextUpdate.getTime() - current.thisUpdate.getTime()) / 1000);
  return `public, max-age=${Math.max(0, Math.min(lifetime, 300))}`;
}
