import { z } from "zod";
import { sendCsv } from "../http/csv.js";
import { defineRoute, forRoles, type Route, type RouteInput } from "../http/route.js";
import type { Principal } from "./roles.js";
import { roles, writerRoles } from "./roles.js";
import * as s from "./schemas.js";
import type { Actor, TenancyService } from "./service.js";
import type { AuditEvent, Group, Organisation, User } from "./views.js";

const anyRole = forRoles(...roles);
const writers = forRoles(...writerRoles);
const operatorOnly = forRoles("operator");
const tags = ["tenancy"];

function actor(input: RouteInput<unknown, unknown, unknown>): Actor {
  return { principal: input.principal as Principal, requestId: input.requestId };
}

const organisationColumns = [
  { header: "id", value: (o: Organisation) => o.id },
  { header: "name", value: (o: Organisation) => o.name },
  { header: "active", value: (o: Organisation) => o.active },
  { header: "createdAt", value: (o: Organisation) => o.createdAt },
];
const groupColumns = [
  { header: "id", value: (g: Group) => g.id },
  { header: "organisationId", value: (g: Group) => g.organisationId },
  { header: "parentId", value: (g: Group) => g.parentId },
  { header: "name", value: (g: Group) => g.name },
  { header: "reference", value: (g: Group) => g.reference },
  { header: "itEmail", value: (g: Group) => g.itEmail },
  { header: "active", value: (g: Group) => g.active },
  { header: "createdAt", value: (g: Group) => g.createdAt },
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
];
const auditColumns = [
  { header: "id", value: (e: AuditEvent) => e.id },
  { header: "occurredAt", value: (e: AuditEvent) => e.occurredAt },
  { header: "actor", value: (e: AuditEvent) => e.actor.label },
  { header: "actorUserId", value: (e: AuditEvent) => e.actor.userId },
  { header: "action", value: (e: AuditEvent) => e.action },
  { header: "targetType", value: (e: AuditEvent) => e.targetType },
  { header: "targetId", value: (e: AuditEvent) => e.targetId },
  { header: "organisationId", value: (e: AuditEvent) => e.organisationId },
  { header: "groupId", value: (e: AuditEvent) => e.groupId },
  { header: "requestId", value: (e: AuditEvent) => e.requestId },
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
      handle: ({ principal }) => principal ?? undefined,
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
      handle: (input) => tenancy.listOrganisations(actor(input), input.query),
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
          tenancy.exportOrganisations(actor(input), input.query),
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
      handle: (input) => tenancy.createOrganisation(actor(input), input.body),
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
      handle: (input) => tenancy.getOrganisation(actor(input), input.params.id),
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
      handle: (input) => tenancy.updateOrganisation(actor(input), input.params.id, input.body),
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
      handle: (input) => tenancy.deleteOrganisation(actor(input), input.params.id),
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
      handle: (input) => tenancy.listGroups(actor(input), input.query),
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
        sendCsv(input.ctx, "groups.csv", groupColumns, tenancy.exportGroups(actor(input), input.query));
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
      handle: (input) => tenancy.createGroup(actor(input), input.body),
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
      handle: (input) => tenancy.getGroup(actor(input), input.params.id),
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
      handle: (input) => tenancy.updateGroup(actor(input), input.params.id, input.body),
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
      handle: (input) => tenancy.deleteGroup(actor(input), input.params.id),
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
      handle: (input) => tenancy.listUsers(actor(input), input.query),
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
        sendCsv(input.ctx, "users.csv", userColumns, tenancy.exportUsers(actor(input), input.query));
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
      handle: (input) => tenancy.createUser(actor(input), input.body),
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
      handle: (input) => tenancy.getUser(actor(input), input.params.id),
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
      handle: (input) => tenancy.updateUser(actor(input), input.params.id, input.body),
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
      handle: (input) => tenancy.deleteUser(actor(input), input.params.id),
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
      handle: (input) => tenancy.createToken(actor(input), input.params.id, input.body),
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
      handle: (input) => tenancy.listTokens(actor(input), input.params.id, input.query),
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
      handle: (input) => tenancy.revokeToken(actor(input), input.params.id),
    }),

    // Audit events
    defineRoute({
      operationId: "listAuditEvents",
      method: "get",
      path: "/api/v1/audit-events",
      summary: "List audit events",
      tags,
      access: anyRole,
      request: { query: s.auditEventListQuery },
      response: { status: 200, description: "A page of audit events", schema: s.auditEventPage },
      handle: (input) => tenancy.listAuditEvents(actor(input), input.query),
    }),
    defineRoute({
      operationId: "exportAuditEvents",
      method: "get",
      path: "/api/v1/audit-events.csv",
      summary: "Export audit events",
      tags,
      access: anyRole,
      request: { query: s.auditEventExportQuery },
      response: csvResponse,
      handle: (input) => {
        sendCsv(
          input.ctx,
          "audit-events.csv",
          auditColumns,
          tenancy.exportAuditEvents(actor(input), input.query),
        );
        return undefined;
      },
    }),
  ];
}
