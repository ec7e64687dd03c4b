import { z } from "zod";
import { booleanParam, exportQuery, listQuery, pageSchema } from "../http/list.js";
import { roles } from "./roles.js";

const timestamp = z.iso.datetime();
const name = z.string().trim().min(1).max(200);
const email = z.email().max(254);

export const idParams = z.object({ id: z.uuid() });

export const principalSchema = z
  .object({
    userId: z.uuid(),
    tokenId: z.uuid().nullable().describe("The API token of the request; null with a console session"),
    sessionId: z.uuid().nullable().describe("The console session of the request; null with an API token"),
    email: z.string(),
    name: z.string(),
    role: z.enum(roles),
    organisationId: z.uuid().nullable(),
    groupId: z.uuid().nullable(),
    groupIds: z.array(z.uuid()).describe("The groups the user is assigned to (group roles), oldest first"),
  })
  .meta({ id: "Principal", description: "The user and token (or console session) a request is made with" });

// Organisations

/** A SIP domain as profiles and accounts keep it: a lower-case DNS name. */
const sipDomain = z
  .string()
  .trim()
  .toLowerCase()
  .max(253)
  .regex(
    /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/,
    "must be a domain name",
  );
const sipDomains = z
  .array(sipDomain)
  .max(100)
  .refine((list) => new Set(list).size === list.length, "lists a domain twice")
  .describe("The SIP domains this organisation's profiles may use; assigned by an operator");

export const organisationSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    active: z.boolean().describe("false: its users cannot sign in and its accounts work as if disabled"),
    sipDomains: z.array(z.string()),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: "Organisation" });
export const organisationPage = pageSchema(organisationSchema, "OrganisationPage");
export const createOrganisationBody = z
  .object({ name, sipDomains: sipDomains.optional() })
  .strict()
  .meta({ id: "CreateOrganisation" });
export const updateOrganisationBody = z
  .object({
    name: name.optional(),
    active: z.boolean().optional(),
    sipDomains: sipDomains
      .optional()
      .describe("Replaces the list; a domain a profile uses cannot be removed"),
  })
  .strict()
  .meta({ id: "UpdateOrganisation" });
const organisationListing = {
  sortFields: ["name", "createdAt"] as const,
  defaultSort: "name",
  filters: { active: booleanParam.optional() },
};
export const organisationListQuery = listQuery(organisationListing);
export const organisationExportQuery = exportQuery(organisationListing);

// Groups

export const groupSchema = z
  .object({
    id: z.uuid(),
    organisationId: z.uuid(),
    parentId: z.uuid().nullable(),
    name: z.string(),
    reference: z.string().nullable(),
    itEmail: z.string().nullable(),
    active: z.boolean(),
    defaultProfileId: z
      .uuid()
      .nullable()
      .describe("The provisioning profile its accounts use unless they choose one"),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: "Group" });
/** A group as lists show it: with what the portal's group page counts (issue 16). */
export const listedGroupSchema = groupSchema
  .extend({
    activeDevices: z.number().int().describe("Active accounts in the group and its sub-groups"),
    dueForRenewal: z
      .number()
      .int()
      .describe("Of those, the ones whose subscription renews within the next 4 weeks"),
    hasActiveDevices: z
      .boolean()
      .describe('At least one active device: the portal\'s "active group" (filter: hasActiveDevices)'),
  })
  .meta({ id: "ListedGroup" });
export const groupPage = pageSchema(listedGroupSchema, "GroupPage");
export const createGroupBody = z
  .object({
    organisationId: z.uuid().optional(),
    parentId: z.uuid().nullable().optional(),
    name,
    reference: z.string().trim().max(100).nullable().optional(),
    itEmail: email.nullable().optional(),
    defaultProfileId: z.uuid().nullable().optional(),
  })
  .strict()
  .meta({ id: "CreateGroup", description: "organisationId is required for a top-level group" });
export const updateGroupBody = z
  .object({
    parentId: z.uuid().nullable().optional(),
    name: name.optional(),
    reference: z.string().trim().max(100).nullable().optional(),
    itEmail: email.nullable().optional(),
    active: z.boolean().optional(),
    defaultProfileId: z.uuid().nullable().optional(),
  })
  .strict()
  .meta({ id: "UpdateGroup" });
const groupListing = {
  sortFields: ["name", "reference", "createdAt"] as const,
  defaultSort: "name",
  filters: {
    organisationId: z.uuid().optional(),
    parentId: z.union([z.uuid(), z.literal("none")]).optional(),
    active: booleanParam.optional(),
    hasActiveDevices: booleanParam.optional(),
  },
};
export const groupListQuery = listQuery(groupListing);
export const groupExportQuery = exportQuery(groupListing);

// Users

export const userSchema = z
  .object({
    id: z.uuid(),
    email: z.string(),
    name: z.string(),
    role: z.enum(roles),
    organisationId: z.uuid().nullable(),
    groupId: z.uuid().nullable().describe("The user's first group; `groupIds` holds every assignment"),
    groupIds: z
      .array(z.uuid())
      .describe("The groups the user is assigned to, oldest first, as far as the caller sees them"),
    active: z.boolean(),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: "User" });
export const userPage = pageSchema(userSchema, "UserPage");
export const createUserBody = z
  .object({
    email,
    name,
    role: z.enum(roles),
    organisationId: z.uuid().nullable().optional(),
    groupId: z.uuid().nullable().optional(),
  })
  .strict()
  .meta({
    id: "CreateUser",
    description:
      "operator: no scope; company_admin: organisationId; group_admin and group_supervisor: groupId",
  });
export const updateUserBody = z
  .object({
    email: email.optional(),
    name: name.optional(),
    role: z.enum(roles).optional(),
    organisationId: z.uuid().nullable().optional(),
    groupId: z.uuid().nullable().optional(),
    active: z.boolean().optional(),
  })
  .strict()
  .meta({ id: "UpdateUser" });
const userListing = {
  sortFields: ["email", "name", "role", "createdAt"] as const,
  defaultSort: "email",
  filters: {
    role: z.enum(roles).optional(),
    organisationId: z.uuid().optional(),
    groupId: z.uuid().optional(),
    active: booleanParam.optional(),
  },
};
export const userListQuery = listQuery(userListing);
export const userExportQuery = exportQuery(userListing);

// Group members

export const groupMembersSchema = z
  .object({
    groupId: z.uuid(),
    userIds: z.array(z.uuid()).describe("The users assigned to the group itself, oldest assignment first"),
    users: z.array(userSchema),
  })
  .meta({ id: "GroupMembers" });
export const replaceGroupMembersBody = z
  .object({
    userIds: z
      .array(z.uuid())
      .max(1000)
      .describe("Every user the group has from now on (group admins and supervisors of its organisation)"),
  })
  .strict()
  .meta({ id: "ReplaceGroupMembers" });
export const userGroupsSchema = z
  .object({
    userId: z.uuid(),
    items: z.array(groupSchema).describe("The groups the user is assigned to that the caller sees"),
  })
  .meta({ id: "UserGroups" });

// API tokens

export const apiTokenSchema = z
  .object({
    id: z.uuid(),
    userId: z.uuid(),
    name: z.string().nullable(),
    createdAt: timestamp,
    expiresAt: timestamp.nullable(),
    lastUsedAt: timestamp.nullable(),
    revokedAt: timestamp.nullable(),
  })
  .meta({ id: "ApiToken" });
export const createdApiTokenSchema = apiTokenSchema
  .extend({ token: z.string().describe("The secret, shown only in this answer") })
  .meta({ id: "CreatedApiToken" });
export const apiTokenPage = pageSchema(apiTokenSchema, "ApiTokenPage");
export const createApiTokenBody = z
  .object({
    name: z.string().trim().min(1).max(100).optional(),
    expiresAt: z.iso.datetime({ offset: true }).optional(),
  })
  .strict()
  .meta({ id: "CreateApiToken" });
export const createRoleTokenBody = z
  .object({
    role: z.enum(roles),
    email: email.optional(),
    name: z.string().trim().min(1).max(100).optional(),
    expiresAt: z.iso.datetime({ offset: true }).optional(),
  })
  .strict()
  .meta({
    id: "CreateRoleToken",
    description:
      "provisiond token create over the API: a token for the user with this e-mail and role, or without e-mail for the calling operator",
  });
export const apiTokenListQuery = listQuery({
  sortFields: ["createdAt", "lastUsedAt"] as const,
  defaultSort: "-createdAt",
  filters: { revoked: booleanParam.optional() },
});
