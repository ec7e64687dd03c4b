import { defineRoute, publicAccess, type Route } from "../http/route.js";
import type { Activation } from "./activation.js";
import * as s from "./schemas.js";

/** The device-facing activation endpoints: the link itself, GET to look and POST to activate. */
export function provisioningRoutes(activation: Activation): Route[] {
  const tags = ["provisioning"];
  return [
    defineRoute({
      operationId: "openActivationLink",
      method: "get",
      path: "/a/{token}",
      summary:
        "An activation link: the server's identity, the account's display name and what the app must send (404 unknown, 410 used, expired or replaced)",
      tags,
      access: publicAccess,
      request: { params: s.tokenParams },
      response: {
        status: 200,
        description: "What the app needs to activate",
        schema: s.activationIntroSchema,
      },
      problems: [403, 410, 422, 429],
      handle: async (input) => {
        input.ctx.set("Cache-Control", "no-store");
        return activation.describe(input.params.token, input.request.remoteAddress);
      },
    }),
    defineRoute({
      operationId: "activateApp",
      method: "post",
      path: "/a/{token}",
      summary:
        "PGSM activation: { csr, device } -> the configuration document (one time; the same CSR within the replay window gets the same document)",
      tags,
      access: publicAccess,
      request: { params: s.tokenParams, body: s.activationBody },
      response: {
        status: 200,
        description: "The configuration document (docs/provisioning/configuration-document.schema.json)",
        schema: s.configurationDocumentSchema,
      },
      problems: [403, 410, 422, 429],
      handle: async (input) => {
        input.ctx.set("Cache-Control", "no-store");
        return activation.activate(input.params.token, input.body, input.request.remoteAddress);
      },
    }),
  ];
}
