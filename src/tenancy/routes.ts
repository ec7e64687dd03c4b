import { z } from "zod";
import { sendCsv } from "../http/csv.js";
import { defineRoute, forRoles, type Route } from "../http/route.js";
import { roles, writerRoles } from "./roles.js";
import * as s from "./schemas.js";
import type { TenancyService } from "./service.js";
import type { Group, ListedGroup, Organisation, User } from "./views.js";

const anyRole = forRoles(...roles);
const writers = forRoles(...writerRoles);
const operatorOnly = forRoles("operator");
const assigners = forRoles("operator", "company_admin");
const tags = ["tenancy"];

const organisationColumns = [
  { header: "id", value: (o: Organisation) => o.id },
  { header: "name", value: (o: Organisation) => o.name },
  { header: "active", value: (o: Organisation) => o.active },
  { header: "createdAt", value: (o: Organisation) => o.createdAt },
];
const groupColumns: Array<{ header: string; value: (g: ListedGroup) => string | number | boolean | null }> = [
  { header: "id", value: (g: Group) => g.id },
  { header: "organisationId", value: (g: Group) => g.organisationId },
  { header: "parentId", value: (g: Group) => g.parentId },
  { header: "name", value: (g: Group) => g.name },
  { header: "reference", value: (g: Group) => g.reference },
  { header: "itEmail", value: (g: Group) => g.itEmail },
  { header: "active", value: (g: Group) => g.active },
  { header: "createdAt", value: (g: Group) => g.createdAt },
  { header: "activeDevices", value: (g: ListedGroup) => g.activeDevices },
  { header: "dueForRenewal", value: (g: ListedGroup) => g.dueForRenewal },
];
const userColumns = [
  { header: "id", value: (u: User) => u.id },
  { header: "email", value: (u: User) => u.email },
  { header: "name", value: (u: User) => u.name },
  { header: "role", value: (u: User) => u.role },
  { header: "organisationId", value: (u: User) => u.organisationId },
  { header: "groupId", value: (u: User) => u.groupId },
  { header: "active", value: (u: User) => u.active },
  { header: "createdAt", value: (u: User) => u.createdAt },
  // Added with group assignments: at the end, space-separated, so readers by position keep working.
  { header: "groupIds", value: (u: User) => u.groupIds.join(" ") },
];
const csvResponse = {
  status: 200,
  description: "Every matching row as CSV",
  schema: z.string(),
  contentType: "text/csv",
};

export function tenancyRoutes(tenancy: TenancyService): Route[] {
  return [
    defineRoute({
      operationId: "getMe",
      method: "get",
      path: "/api/v1/me",
      summary: "Show the calling user and token",
      tags,
      access: anyRole,
      response: { status: 200, description: "The caller", schema: s.principalSchema },
      handle: ({ principal }) =>
        principal ? { ...principal, sessionId: principal.sessionId ?? null } : undefined,
    }),

    // Organisations
    defineRoute({
      operationId: "listOrganisations",
      method: "get",
      path: "/api/v1/organisations",
      summary: "List organisations",
      tags,
      access: anyRole,
      request: { query: s.organisationListQuery },
      response: { status: 200, description: "A page of organisations", schema: s.organisationPage },
      handle: (input) => tenancy.organisations.list(input.actor, input.query),
    }),
    defineRoute({
      operationId: "exportOrganisations",
      method: "get",
      path: "/api/v1/organisations.csv",
      summary: "Export organisations",
      tags,
      access: anyRole,
      request: { query: s.organisationExportQuery },
      response: csvResponse,
      handle: (input) => {
        sendCsv(
          input.ctx,
          "organisations.csv",
          organisationColumns,
          tenancy.organisations.export(input.actor, input.query),
        );
        return undefined;
      },
    }),
    defineRoute({
      operationId: "createOrganisation",
      method: "post",
      path: "/api/v1/organisations",
      summary: "Create organisations",
      tags,
      access: operatorOnly,
      request: { body: s.createOrganisationBody },
      response: { status: 201, description: "The new organisation", schema: s.organisationSchema },
      problems: [409],
      handle: (input) => tenancy.organisations.create(input.actor, input.body),
    }),
    defineRoute({
      operationId: "getOrganisation",
      method: "get",
      path: "/api/v1/organisations/{id}",
      summary: "Read an organisation",
      tags,
      access: anyRole,
      request: { params: s.idParams },
      response: { status: 200, description: "The organisation", schema: s.organisationSchema },
      handle: (input) => tenancy.organisations.get(input.actor, input.params.id),
    }),
    defineRoute({
      operationId: "updateOrganisation",
      method: "patch",
      path: "/api/v1/organisations/{id}",
      summary: "Rename, deactivate or activate organisations",
      tags,
      access: operatorOnly,
      request: { params: s.idParams, body: s.updateOrganisationBody },
      response: { status: 200, description: "The changed organisation", schema: s.organisationSchema },
      problems: [409],
      handle: (input) => tenancy.organisations.update(input.actor, input.params.id, input.body),
    }),
    defineRoute({
      operationId: "deleteOrganisation",
      method: "delete",
      path: "/api/v1/organisations/{id}",
      summary: "Delete organisations",
      tags,
      access: operatorOnly,
      request: { params: s.idParams },
      response: { status: 200, description: "The deleted organisation", schema: s.organisationSchema },
      problems: [409],
      handle: (input) => tenancy.organisations.delete(input.actor, input.params.id),
    }),

    // Groups
    defineRoute({
      operationId: "listGroups",
      method: "get",
      path: "/api/v1/groups",
      summary: "List groups",
      tags,
      access: anyRole,
      request: { query: s.groupListQuery },
      response: { status: 200, description: "A page of groups", schema: s.groupPage },
      handle: (input) => tenancy.groups.list(input.actor, input.query),
    }),
    defineRoute({
      operationId: "exportGroups",
      method: "get",
      path: "/api/v1/groups.csv",
      summary: "Export groups",
      tags,
      access: anyRole,
      request: { query: s.groupExportQuery },
      response: csvResponse,
      handle: (input) => {
        sendCsv(input.ctx, "groups.csv", groupColumns, tenancy.groups.export(input.actor, input.query));
        return undefined;
      },
    }),
    defineRoute({
      operationId: "createGroup",
      method: "post",
      path: "/api/v1/groups",
      summary: "Create groups",
      tags,
      access: writers,
      request: { body: s.createGroupBody },
      response: { status: 201, description: "The new group", schema: s.groupSchema },
      handle: (input) => tenancy.groups.create(input.actor, input.body),
    }),
    defineRoute({
      operationId: "getGroup",
      method: "get",
      path: "/api/v1/groups/{id}",
      summary: "Read a group",
      tags,
      access: anyRole,
      request: { params: s.idParams },
      response: { status: 200, description: "The group", schema: s.groupSchema },
      handle: (input) => tenancy.groups.get(input.actor, input.params.id),
    }),
    defineRoute({
      operationId: "updateGroup",
      method: "patch",
      path: "/api/v1/groups/{id}",
      summary: "Change or move groups",
      tags,
      access: writers,
      request: { params: s.idParams, body: s.updateGroupBody },
      response: { status: 200, description: "The changed group", schema: s.groupSchema },
      handle: (input) => tenancy.groups.update(input.actor, input.params.id, input.body),
    }),
    defineRoute({
      operationId: "deleteGroup",
      method: "delete",
      path: "/api/v1/groups/{id}",
      summary: "Delete groups",
      tags,
      access: writers,
      request: { params: s.idParams },
      response: { status: 200, description: "The deleted group", schema: s.groupSchema },
      problems: [409],
      handle: (input) => tenancy.groups.delete(input.actor, input.params.id),
    }),
    defineRoute({
      operationId: "getGroupMembers",
      method: "get",
      path: "/api/v1/groups/{id}/members",
      summary: "List the users assigned to a group (not to its sub-groups)",
      tags,
      access: anyRole,
      request: { params: s.idParams },
      response: { status: 200, description: "The group's members", schema: s.groupMembersSchema },
      handle: (input) => tenancy.groupMembers.get(input.actor, input.params.id),
    }),
    defineRoute({
      operationId: "replaceGroupMembers",
      method: "put",
      path: "/api/v1/groups/{id}/members",
      summary:
        "Replace the users assigned to a group: group admins and supervisors of its organisation see and act on what it holds",
      tags,
      access: assigners,
      request: { params: s.idParams, body: s.replaceGroupMembersBody },
      response: { status: 200, description: "The group's members now", schema: s.groupMembersSchema },
      problems: [409],
      handle: (input) => tenancy.groupMembers.replace(input.actor, input.params.id, input.body),
    }),

    // Users
    defineRoute({
      operationId: "listUsers",
      method: "get",
      path: "/api/v1/users",
      summary: "List portal users",
      tags,
      access: anyRole,
      request: { query: s.userListQuery },
      response: { status: 200, description: "A page of users", schema: s.userPage },
      handle: (input) => tenancy.users.list(input.actor, input.query),
    }),
    defineRoute({
      operationId: "exportUsers",
      method: "get",
      path: "/api/v1/users.csv",
      summary: "Export portal users",
      tags,
      access: anyRole,
      request: { query: s.userExportQuery },
      response: csvResponse,
      handle: (input) => {
        sendCsv(input.ctx, "users.csv", userColumns, tenancy.users.export(input.actor, input.query));
        return undefined;
      },
    }),
    defineRoute({
      operationId: "createUser",
      method: "post",
      path: "/api/v1/users",
      summary: "Create portal users",
      tags,
      access: writers,
      request: { body: s.createUserBody },
      response: { status: 201, description: "The new user", schema: s.userSchema },
      problems: [409],
      handle: (input) => tenancy.users.create(input.actor, input.body),
    }),
    defineRoute({
      operationId: "getUser",
      method: "get",
      path: "/api/v1/users/{id}",
      summary: "Read a portal user",
      tags,
      access: anyRole,
      request: { params: s.idParams },
      response: { status: 200, description: "The user", schema: s.userSchema },
      handle: (input) => tenancy.users.get(input.actor, input.params.id),
    }),
    defineRoute({
      operationId: "updateUser",
      method: "patch",
      path: "/api/v1/users/{id}",
      summary: "Change portal users",
      tags,
      access: writers,
      request: { params: s.idParams, body: s.updateUserBody },
      response: { status: 200, description: "The changed user", schema: s.userSchema },
      problems: [409],
      handle: (input) => tenancy.users.update(input.actor, input.params.id, input.body),
    }),
    defineRoute({
      operationId: "deleteUser",
      method: "delete",
      path: "/api/v1/users/{id}",
      summary: "Delete portal users",
      tags,
      access: writers,
      request: { params: s.idParams },
      response: { status: 200, description: "The deleted user", schema: s.userSchema },
      problems: [409],
      handle: (input) => tenancy.users.delete(input.actor, input.params.id),
    }),
    defineRoute({
      operationId: "listUserGroups",
      method: "get",
      path: "/api/v1/users/{id}/groups",
      summary: "List the groups a user is assigned to",
      tags,
      access: anyRole,
      request: { params: s.idParams },
      response: { status: 200, description: "The user's groups", schema: s.userGroupsSchema },
      handle: (input) => tenancy.groupMembers.groupsOfUser(input.actor, input.params.id),
    }),

    // API tokens
    defineRoute({
      operationId: "createToken",
      method: "post",
      path: "/api/v1/users/{id}/tokens",
      summary: "Create API tokens",
      tags,
      access: anyRole,
      request: { params: s.idParams, body: s.createApiTokenBody },
      response: {
        status: 201,
        description: "The token, with its secret shown this once",
        schema: s.createdApiTokenSchema,
      },
      problems: [409],
      handle: (input) => tenancy.tokens.create(input.actor, input.params.id, input.body),
    }),
    defineRoute({
      operationId: "createTokenForRole",
      method: "post",
      path: "/api/v1/tokens",
      summary: "Create an API token as provisiond token create does (operators)",
      tags,
      access: operatorOnly,
      request: { body: s.createRoleTokenBody },
      response: {
        status: 201,
        description: "The token, with its secret shown this once",
        schema: s.createdApiTokenSchema,
      },
      problems: [409],
      handle: (input) => tenancy.tokens.createForRole(input.actor, input.body),
    }),
    defineRoute({
      operationId: "listTokens",
      method: "get",
      path: "/api/v1/users/{id}/tokens",
      summary: "List a user's API tokens",
      tags,
      access: anyRole,
      request: { params: s.idParams, query: s.apiTokenListQuery },
      response: { status: 200, description: "A page of tokens, without secrets", schema: s.apiTokenPage },
      handle: (input) => tenancy.tokens.list(input.actor, input.params.id, input.query),
    }),
    defineRoute({
      operationId: "revokeToken",
      method: "delete",
      path: "/api/v1/tokens/{id}",
      summary: "Revoke API tokens",
      tags,
      access: anyRole,
      request: { params: s.idParams },
      response: { status: 200, description: "The revoked token", schema: s.apiTokenSchema },
      handle: (input) => tenancy.tokens.revoke(input.actor, input.params.id),
    }),
  ];
}
