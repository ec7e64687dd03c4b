import { z } from "zod";
import { provisioningCredentialSchema } from "../../accounts/schemas.js";

/**
 * A MAC address as phones put it in their settings URLs: 12 hex digits, either case. Anything
 * else (a path, markup, separators) is refused with a message that does not repeat the value.
 */
const macParam = z
  .string()
  .regex(/^[0-9A-Fa-f]{12}$/, "must be the phone's MAC address: 12 hex digits")
  .transform((value) => value.toUpperCase());

export const settingsByMacParams = z.object({ mac: macParam });
export const settingsByModelParams = z.object({
  model: z.string().regex(/^[A-Za-z0-9]{1,16}$/, "must be a snom model name, e.g. 760 or D785"),
  MAC: macParam,
});

export const accountIdParams = z.object({ id: z.uuid() });

export const rotatedCredentialSchema = provisioningCredentialSchema
  .extend({
    previousValidUntil: z.iso
      .datetime()
      .nullable()
      .describe(
        "Until when the credential this one replaced still opens the settings file; null for the first",
      ),
  })
  .meta({ id: "RotatedProvisioningCredential" });
