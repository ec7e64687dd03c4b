import { defineRoute, forRoles, type Route } from "../http/route.js";
import { roles } from "./roles.js";
import { principalSchema } from "./schemas.js";

export function tenancyRoutes(): Route[] {
  return [
    defineRoute({
      operationId: "getMe",
      method: "get",
      path: "/api/v1/me",
      summary: "Show the calling user and token",
      tags: ["tenancy"],
      access: forRoles(...roles),
      response: { status: 200, description: "The caller", schema: principalSchema },
      handle: ({ principal }) => principal ?? undefined,
    }),
  ];
}
