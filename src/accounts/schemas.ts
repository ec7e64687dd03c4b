import { z } from "zod";
import { booleanParam, exportQuery, listQuery, pageSchema } from "../http/list.js";
import { mergePatchSchema } from "../merge-patch.js";
import { subscriptionSchema } from "../subscriptions/account-subscription.js";
import { billingPlans } from "../subscriptions/periods.js";
import {
  hostnamePattern,
  normaliseMac,
  normalisePhoneNumber,
  passwordPattern,
  usernamePattern,
} from "./identifiers.js";

const timestamp = z.iso.datetime();
const hostname = z
  .string()
  .trim()
  .toLowerCase()
  .max(253)
  .regex(hostnamePattern, "must be a host name or IPv4 address");
const port = z.number().int().min(1).max(65535);
const transport = (defaultPort: number, enabled: boolean) =>
  z.object({ enabled: z.boolean().default(enabled), port: port.default(defaultPort) }).strict();

export const accountTypes = ["PGSM", "SNOM"] as const;
export const accountModes = ["manual", "wizard", "batch"] as const;
export const accountStatuses = ["pending_activation", "active", "disabled"] as const;
export const codecs = ["opus", "G722", "PCMA", "PCMU", "G729"] as const;
export const digestAlgorithmNames = ["MD5", "SHA-256"] as const;
export const announcementLanguages = ["en", "fr", "it", "es", "de"] as const;

// Provisioning profiles

/**
 * A link a portal or an app opens: https only, so a stored `javascript:` or `data:` URL can
 * never run in a page that renders it, and apps are not sent to a plain-text download.
 */
const httpsUrl = z
  .string()
  .max(500)
  .refine((value) => {
    try {
      const url = new URL(value);
      return url.protocol === "https:" && url.hostname !== "";
    } catch {
      return false;
    }
  }, "must be an https: URL");
/** What a desk phone fetches firmware from: http or https, nothing a browser would run. */
const downloadUrl = z
  .string()
  .max(500)
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === "https:" || url.protocol === "http:") && url.hostname !== "";
    } catch {
      return false;
    }
  }, "must be an http: or https: URL");
const timeZones: ReadonlySet<string> = new Set([...Intl.supportedValuesOf("timeZone"), "UTC"]);
const timeZone = z
  .string()
  .max(64)
  .refine((value) => timeZones.has(value), "must be an IANA time zone name, e.g. Europe/Zurich");

/** Everything a device is configured from besides domain and host; defaults make a working profile. */
export const profileSettingsShape = {
  transports: z
    .object({
      udp: transport(5060, true).prefault({}),
      tcp: transport(5060, true).prefault({}),
      tls: transport(5061, false).prefault({}),
      wss: transport(8089, false)
        .extend({ path: z.string().startsWith("/").max(100).default("/ws") })
        .prefault({}),
    })
    .strict()
    .prefault({}),
  tlsRequired: z.boolean().default(false),
  srtp: z.enum(["disabled", "optional", "mandatory"]).default("optional"),
  codecs: z
    .array(z.enum(codecs))
    .min(1)
    .max(codecs.length)
    .refine((list) => new Set(list).size === list.length, "lists a codec twice")
    .default(["opus", "G722", "PCMA", "PCMU"]),
  registrationExpirySeconds: z.number().int().min(60).max(86_400).default(3600),
  keepAliveSeconds: z.number().int().min(0).max(3600).default(30),
  announcementLanguage: z.enum(announcementLanguages).default("en"),
  licenseMode: z.enum(["proxy", "direct"]).default("proxy"),
  appLinks: z
    .object({
      ios: httpsUrl.nullable().default(null),
      android: httpsUrl.nullable().default(null),
    })
    .strict()
    .prefault({}),
  certificateValidityDays: z.number().int().min(1).max(3650).default(365),
  /**
   * The digest algorithms the registrar challenges this profile's SIP domain (its realm) with, in
   * order. MD5 alone by default: baresip and SIP.js give up as soon as SHA-256 is offered.
   */
  digestAlgorithms: z
    .array(z.enum(digestAlgorithmNames))
    .min(1)
    .max(digestAlgorithmNames.length)
    .refine((list) => new Set(list).size === list.length, "lists an algorithm twice")
    .default(["MD5"]),
  /** The billing plan new accounts of this profile start with, unless an operator chooses another. */
  billingPlan: z.enum(billingPlans).default("monthly"),
  /** A rekey with the duress code also disables the account (the alert to the group's IT goes out either way). */
  duressDisablesAccount: z.boolean().default(false),
  snom: z
    .object({
      firmwareUrl: downloadUrl.nullable().default(null),
      timezone: timeZone.nullable().default(null),
      language: z
        .enum(announcementLanguages, { error: `must be one of ${announcementLanguages.join(", ")}` })
        .nullable()
        .default(null),
      dialPlan: z.string().max(2000).nullable().default(null),
    })
    .strict()
    .prefault({}),
};

function checkTransports(
  value: {
    transports?: {
      udp: { enabled: boolean };
      tcp: { enabled: boolean };
      tls: { enabled: boolean };
      wss: { enabled: boolean };
    };
    tlsRequired?: boolean;
  },
  ctx: z.RefinementCtx,
) {
  const t = value.transports;
  if (!t) return;
  if (![t.udp, t.tcp, t.tls, t.wss].some((x) => x.enabled)) {
    ctx.addIssue({ code: "custom", path: ["transports"], message: "enable at least one transport" });
  }
  if (value.tlsRequired && !t.tls.enabled && !t.wss.enabled) {
    ctx.addIssue({ code: "custom", path: ["tlsRequired"], message: "needs TLS or WSS enabled" });
  }
}

const profileSettings = z.object(profileSettingsShape).strict().superRefine(checkTransports);
export type ProfileSettings = z.output<typeof profileSettings>;

export const profileSchema = z
  .object({
    id: z.uuid(),
    organisationId: z.uuid(),
    name: z.string(),
    sipDomain: z.string(),
    serverHost: z.string(),
    ...profileSettingsShape,
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: "Profile" });
export const profilePage = pageSchema(profileSchema, "ProfilePage");
export const createProfileBody = z
  .object({
    organisationId: z.uuid(),
    name: z.string().trim().min(1).max(200),
    sipDomain: hostname,
    serverHost: hostname,
    ...profileSettingsShape,
  })
  .strict()
  .superRefine(checkTransports)
  .meta({ id: "CreateProfile" });
export const updateProfileBody = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    sipDomain: hostname.optional(),
    serverHost: hostname.optional(),
    ...(Object.fromEntries(
      Object.entries(profileSettingsShape).map(([key, schema]) => [key, mergePatchSchema(schema)]),
    ) as Record<keyof typeof profileSettingsShape, z.ZodType<unknown>>),
  })
  .strict()
  .meta({
    id: "UpdateProfile",
    description:
      "A merge patch (RFC 7396): settings left out keep their value, null resets one to its default, nested objects (transports, appLinks, snom) merge member by member",
  });
export const profileListQuery = listQuery({
  sortFields: ["name", "sipDomain", "createdAt"] as const,
  defaultSort: "name",
  filters: { organisationId: z.uuid().optional() },
});
export { profileSettings };

// Accounts

const phoneNumber = z
  .string()
  .max(32)
  .transform((value, ctx) => {
    const e164 = normalisePhoneNumber(value);
    if (!e164)
      ctx.addIssue({
        code: "custom",
        message: "must be a valid phone number in international form, e.g. +41446681800",
      });
    return e164 ?? value;
  });
const macAddress = z
  .string()
  .max(32)
  .transform((value, ctx) => {
    const mac = normaliseMac(value);
    if (!mac)
      ctx.addIssue({ code: "custom", message: "must be a unicast MAC address, e.g. 00:04:13:2a:bb:cc" });
    return mac ?? value;
  });
const username = z.string().regex(usernamePattern, "must be 3 to 20 digits");
const password = z
  .string()
  .regex(
    passwordPattern,
    "must be 8 to 128 printable ASCII characters without spaces, quotes or backslashes",
  );

const accountFields = {
  displayName: z.string().trim().max(200).nullable(),
  phoneNumber: phoneNumber.nullable(),
  macAddress: macAddress.nullable(),
  securityModel: z.string().trim().min(1).max(50),
  keepAliveSeconds: z.number().int().min(0).max(3600).nullable(),
  profileId: z.uuid().nullable(),
  licenseKey: z.string().trim().min(1).max(200).nullable(),
  notes: z.string().max(2000).nullable(),
  billingPlan: z.enum(billingPlans).describe("Operators only; default: the profile's billingPlan"),
  renewsOn: z.iso
    .date("must be a day, YYYY-MM-DD")
    .nullable()
    .describe("Operators only; quarterly and yearly plans (default: one period from today)"),
};

export const createAccountBody = z
  .object({
    groupId: z.uuid(),
    type: z.enum(accountTypes),
    mode: z.enum(["manual", "wizard"]).default("manual"),
    username: username.optional(),
    password: password.optional(),
    displayName: accountFields.displayName.optional(),
    phoneNumber: accountFields.phoneNumber.optional(),
    macAddress: accountFields.macAddress.optional(),
    securityModel: accountFields.securityModel.default("standard"),
    keepAliveSeconds: accountFields.keepAliveSeconds.optional(),
    profileId: accountFields.profileId.optional(),
    licenseKey: accountFields.licenseKey.optional(),
    notes: accountFields.notes.optional(),
    billingPlan: accountFields.billingPlan.optional(),
    renewsOn: accountFields.renewsOn.optional(),
  })
  .strict()
  .meta({ id: "CreateAccount", description: "username and password are generated when not given" });
export type CreateAccountInput = z.output<typeof createAccountBody>;

export const updateAccountBody = z
  .object({
    groupId: z.uuid().optional(),
    username: username.optional(),
    displayName: accountFields.displayName.optional(),
    phoneNumber: accountFields.phoneNumber.optional(),
    macAddress: accountFields.macAddress.optional(),
    securityModel: accountFields.securityModel.optional(),
    keepAliveSeconds: accountFields.keepAliveSeconds.optional(),
    profileId: accountFields.profileId.optional(),
    licenseKey: accountFields.licenseKey.optional(),
    notes: accountFields.notes.optional(),
    billingPlan: accountFields.billingPlan.optional(),
    renewsOn: accountFields.renewsOn.optional(),
  })
  .strict()
  .meta({ id: "UpdateAccount" });

export const resetPasswordBody = z
  .object({ password: password.optional() })
  .strict()
  .meta({ id: "ResetPassword" });
export const disableAccountBody = z
  .object({ reason: z.string().trim().min(1).max(500) })
  .strict()
  .meta({ id: "DisableAccount" });

export const moveAccountBody = z
  .object({ groupId: z.uuid().describe("A group or sub-group of the account's organisation") })
  .strict()
  .meta({ id: "MoveAccount" });

export const accountSchema = z
  .object({
    id: z.uuid(),
    groupId: z.uuid(),
    type: z.enum(accountTypes),
    mode: z.enum(accountModes),
    status: z.enum(accountStatuses),
    disabledReason: z.string().nullable(),
    username: z.string(),
    sipDomain: z.string(),
    displayName: z.string().nullable(),
    phoneNumber: z.string().nullable(),
    macAddress: z.string().nullable(),
    securityModel: z.string(),
    keepAliveSeconds: z.number().int().nullable(),
    profileId: z.uuid().nullable(),
    licenseKey: z.string().nullable(),
    notes: z.string().nullable(),
    activatedAt: timestamp.nullable(),
    passwordChangedAt: timestamp.nullable(),
    createdAt: timestamp,
    updatedAt: timestamp,
    subscription: subscriptionSchema,
  })
  .meta({ id: "Account" });
/** A SNOM phone's settings credential as it is shown, once: when made and when rotated. */
export const provisioningCredentialSchema = z
  .object({
    username: z.string(),
    password: z.string().describe("Shown in this answer only"),
    realm: z.string().describe("The HTTP digest realm the settings URL challenges with"),
    createdAt: timestamp,
  })
  .meta({ id: "ProvisioningCredential" });
export type ProvisioningCredential = z.output<typeof provisioningCredentialSchema>;

export const accountWithPasswordSchema = accountSchema
  .extend({
    password: z.string().describe("Shown in this answer only"),
    provisioningCredential: provisioningCredentialSchema
      .optional()
      .describe("SNOM accounts: the settings credential, shown in this answer only"),
  })
  .meta({ id: "AccountWithPassword" });
export const accountPage = pageSchema(accountSchema, "AccountPage");

export const accountDetailsSchema = accountSchema
  .extend({
    statusReason: z.string().describe("Why the account is in its status, in words"),
    profile: profileSchema.describe("The profile in effect: the account's own or its group's default"),
    registrations: z.array(z.looseObject({})).describe("SIP registrations (filled by the registrar)"),
    messages: z.array(z.looseObject({})).describe("Installation and activation SMS (filled by messaging)"),
    certificates: z.array(z.looseObject({})).describe("Issued certificates (filled by the PKI)"),
    license: z.looseObject({}).nullable().describe("Cached license status (filled by the license proxy)"),
    device: z
      .looseObject({})
      .nullable()
      .describe("The device the app was activated on: platform, model, versions, activatedAt (provisioning)"),
    activationAttempts: z
      .array(z.looseObject({}))
      .describe("The last activation attempts: time, address, outcome, newest first (provisioning)"),
    snomProvisioning: z
      .looseObject({})
      .nullable()
      .describe("A SNOM phone's settings credential (no secret) and its last fetches; null for PGSM"),
    recentEvents: z.array(
      z.object({
        occurredAt: timestamp,
        action: z.string(),
        actor: z.string(),
        requestId: z.string().nullable(),
      }),
    ),
  })
  .meta({ id: "AccountDetails" });

/** The portal's subscription tabs: a state, or one of the two renewal flags. */
export const subscriptionFilters = [
  "activation_pending",
  "deactivation_pending",
  "due_soon",
  "renewed_without_notice",
] as const;
export type SubscriptionFilter = (typeof subscriptionFilters)[number];

const accountListing = {
  sortFields: ["username", "displayName", "phoneNumber", "status", "createdAt", "renewsOn"] as const,
  defaultSort: "username",
  filters: {
    status: z.enum(accountStatuses).optional(),
    subscription: z.enum(subscriptionFilters).optional(),
    billingPlan: z.enum(billingPlans).optional(),
    type: z.enum(accountTypes).optional(),
    groupId: z.uuid().optional(),
    includeSubgroups: booleanParam.default(true),
    organisationId: z.uuid().optional(),
  },
};
export const accountListQuery = listQuery(accountListing);
export const accountExportQuery = exportQuery(accountListing);

/** The columns an import may have: account fields as the API names them (see API.md). */
export const importColumns = [
  "groupId",
  "groupReference",
  "type",
  "username",
  "password",
  "displayName",
  "phoneNumber",
  "macAddress",
  "securityModel",
  "keepAliveSeconds",
  "profileId",
  "licenseKey",
  "notes",
  "billingPlan",
  "renewsOn",
] as const;
export const importColumnsText = importColumns.join(", ");
/** Columns of the export that an import accepts and ignores, so an exported file imports again. */
export const readOnlyImportColumns = [
  "id",
  "mode",
  "status",
  "sipDomain",
  "disabledReason",
  "activatedAt",
  "passwordChangedAt",
  "createdAt",
  "updatedAt",
  "subscriptionState",
  "dueSoon",
  "renewedWithoutNotice",
] as const;

export const importResultSchema = z
  .object({
    created: z.number().int(),
    accounts: z.array(
      z.object({
        id: z.uuid(),
        username: z.string(),
        sipDomain: z.string(),
        password: z.string(),
        provisioningCredential: provisioningCredentialSchema
          .nullable()
          .describe("SNOM accounts: the settings credential; null for PGSM"),
      }),
    ),
  })
  .meta({ id: "AccountImportResult", description: "Passwords are shown in this answer only" });
