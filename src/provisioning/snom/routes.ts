import { z } from "zod";
import { defineRoute, forRoles, publicAccess, type Route } from "../../http/route.js";
import { writerRoles } from "../../tenancy/roles.js";
import type { ProvisioningCredentials } from "./credentials.js";
import {
  accountIdParams,
  rotatedCredentialSchema,
  settingsByMacParams,
  settingsByModelParams,
} from "./schemas.js";
import type { SnomSettingsFiles } from "./settings-files.js";

const tags = ["provisioning"];
const xmlContentType = "application/xml";

export function snomRoutes(deps: {
  files: SnomSettingsFiles;
  credentials: ProvisioningCredentials;
}): Route[] {
  const { files, credentials } = deps;
  const settingsResponse = {
    status: 200,
    description: "The phone's settings in snom's XML settings format",
    schema: z.string(),
    contentType: xmlContentType,
  };
  return [
    defineRoute({
      operationId: "getSnomSettings",
      method: "get",
      path: "/snom/{mac}.xml",
      summary: "A SNOM phone's settings file (HTTP digest with its provisioning credential)",
      tags,
      access: publicAccess,
      request: { params: settingsByMacParams },
      response: settingsResponse,
      problems: [401, 404, 429],
      handle: async ({ ctx, params, request }) => {
        ctx.type = xmlContentType;
        ctx.body = await files.fetch(request, params.mac);
        return undefined;
      },
    }),
    defineRoute({
      operationId: "getSnomSettingsByModel",
      method: "get",
      path: "/snom{model}-{MAC}.htm",
      summary: "The same settings file, in the name form phones use when the MAC is not in their User-Agent",
      tags,
      access: publicAccess,
      request: { params: settingsByModelParams },
      response: settingsResponse,
      problems: [401, 404, 429],
      handle: async ({ ctx, params, request }) => {
        ctx.type = xmlContentType;
        ctx.body = await files.fetch(request, params.MAC);
        return undefined;
      },
    }),
    defineRoute({
      operationId: "rotateProvisioningCredential",
      method: "post",
      path: "/api/v1/accounts/{id}/provisioning-credential",
      summary:
        "A new settings credential for a SNOM account, shown once; the one it replaces stays valid for the grace period",
      tags,
      access: forRoles(...writerRoles),
      request: { params: accountIdParams },
      response: {
        status: 201,
        description: "The new credential (shown this once)",
        schema: rotatedCredentialSchema,
      },
      problems: [422],
      handle: (input) => credentials.rotate(input.actor, input.params.id),
    }),
  ];
}
