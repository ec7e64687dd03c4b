import { z } from "zod";
import { roles } from "./roles.js";

export const principalSchema = z
  .object({
    userId: z.uuid(),
    tokenId: z.uuid(),
    email: z.string(),
    name: z.string(),
    role: z.enum(roles),
    organisationId: z.uuid().nullable(),
    groupId: z.uuid().nullable(),
  })
  .meta({ id: "Principal", description: "The user and token a request is made with" });
