import { z } from "zod";
import { auditEventListQuery, auditEventPage } from "../audit/schemas.js";
import { type CsvColumn, sendCsv } from "../http/csv.js";
import { defineRoute, forRoles, type Route } from "../http/route.js";
import { roles, writerRoles } from "../tenancy/roles.js";
import type { ExportedAccount } from "./accounts.js";
import type { ImportResult } from "./create-accounts.js";
import { parseAccountCsv } from "./csv-import.js";
import * as s from "./schemas.js";
import type { AccountService } from "./service.js";

const anyRole = forRoles(...roles);
const writers = forRoles(...writerRoles);
const profileWriters = forRoles("operator", "company_admin");
const idParams = z.object({ id: z.uuid() });

/**
 * The CSV export's columns: every importable field (all but the password) plus the read-only
 * state an import accepts and ignores, so an exported file can be edited and imported again.
 */
const accountColumns: CsvColumn<ExportedAccount>[] = [
  { header: "id", value: (a) => a.id },
  { header: "groupId", value: (a) => a.groupId },
  { header: "type", value: (a) => a.type },
  { header: "mode", value: (a) => a.mode },
  { header: "status", value: (a) => a.status },
  { header: "username", value: (a) => a.username },
  { header: "sipDomain", value: (a) => a.sipDomain },
  { header: "displayName", value: (a) => a.displayName },
  { header: "phoneNumber", value: (a) => a.phoneNumber },
  { header: "macAddress", value: (a) => a.macAddress },
  { header: "profileId", value: (a) => a.profileId },
  { header: "licenseKey", value: (a) => a.licenseKey },
  { header: "disabledReason", value: (a) => a.disabledReason },
  { header: "createdAt", value: (a) => a.createdAt },
  // Added after the first release: at the end, so readers that go by position keep working.
  { header: "groupReference", value: (a) => a.groupReference },
  { header: "securityModel", value: (a) => a.securityModel },
  { header: "keepAliveSeconds", value: (a) => a.keepAliveSeconds },
  { header: "notes", value: (a) => a.notes },
  { header: "billingPlan", value: (a) => a.subscription.billingPlan },
  { header: "renewsOn", value: (a) => a.subscription.renewsOn },
  { header: "subscriptionState", value: (a) => a.subscription.state },
  { header: "dueSoon", value: (a) => a.subscription.dueSoon },
  { header: "renewedWithoutNotice", value: (a) => a.subscription.renewedWithoutNotice },
];

type CreatedByImport = ImportResult["accounts"][number];

/** The credentials sheet an import answers with `Accept: text/csv`: what to hand out, per line of the file. */
const credentialColumns: CsvColumn<CreatedByImport>[] = [
  { header: "line", value: (a) => a.line },
  { header: "id", value: (a) => a.id },
  { header: "groupId", value: (a) => a.groupId },
  { header: "type", value: (a) => a.type },
  { header: "username", value: (a) => a.username },
  { header: "sipDomain", value: (a) => a.sipDomain },
  { header: "password", value: (a) => a.password },
  { header: "displayName", value: (a) => a.displayName },
  { header: "phoneNumber", value: (a) => a.phoneNumber },
  { header: "macAddress", value: (a) => a.macAddress },
  // SNOM accounts' settings credential; empty for PGSM. At the end, after the columns readers know.
  { header: "provisioningUsername", value: (a) => a.provisioningCredential?.username ?? null },
  { header: "provisioningPassword", value: (a) => a.provisioningCredential?.password ?? null },
];

async function* each<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

export function accountRoutes(accounts: AccountService): Route[] {
  const profileTags = ["profiles"];
  const tags = ["accounts"];
  return [
    // Provisioning profiles
    defineRoute({
      operationId: "listProfiles",
      method: "get",
      path: "/api/v1/profiles",
      summary: "List provisioning profiles",
      tags: profileTags,
      access: anyRole,
      request: { query: s.profileListQuery },
      response: { status: 200, description: "A page of profiles", schema: s.profilePage },
      handle: (input) => accounts.profiles.list(input.actor, input.query),
    }),
    defineRoute({
      operationId: "createProfile",
      method: "post",
      path: "/api/v1/profiles",
      summary: "Create a provisioning profile",
      tags: profileTags,
      access: profileWriters,
      request: { body: s.createProfileBody },
      response: { status: 201, description: "The new profile", schema: s.profileSchema },
      problems: [409],
      handle: (input) => accounts.profiles.create(input.actor, input.body),
    }),
    defineRoute({
      operationId: "getProfile",
      method: "get",
      path: "/api/v1/profiles/{id}",
      summary: "Read a provisioning profile",
      tags: profileTags,
      access: anyRole,
      request: { params: idParams },
      response: { status: 200, description: "The profile", schema: s.profileSchema },
      handle: (input) => accounts.profiles.get(input.actor, input.params.id),
    }),
    defineRoute({
      operationId: "updateProfile",
      method: "patch",
      path: "/api/v1/profiles/{id}",
      summary: "Change a provisioning profile (a new SIP domain moves its accounts)",
      tags: profileTags,
      access: profileWriters,
      request: { params: idParams, body: s.updateProfileBody },
      response: { status: 200, description: "The changed profile", schema: s.profileSchema },
      problems: [409],
      handle: (input) => accounts.profiles.update(input.actor, input.params.id, input.body),
    }),
    defineRoute({
      operationId: "deleteProfile",
      method: "delete",
      path: "/api/v1/profiles/{id}",
      summary: "Delete a provisioning profile that no group or account uses",
      tags: profileTags,
      access: profileWriters,
      request: { params: idParams },
      response: { status: 200, description: "The deleted profile", schema: s.profileSchema },
      problems: [409],
      handle: (input) => accounts.profiles.delete(input.actor, input.params.id),
    }),

    // Accounts
    defineRoute({
      operationId: "listAccounts",
      method: "get",
      path: "/api/v1/accounts",
      summary: "List SIP accounts",
      tags,
      access: anyRole,
      request: { query: s.accountListQuery },
      response: { status: 200, description: "A page of accounts", schema: s.accountPage },
      handle: (input) => accounts.accounts.list(input.actor, input.query),
    }),
    defineRoute({
      operationId: "exportAccounts",
      method: "get",
      path: "/api/v1/accounts.csv",
      summary: "Export SIP accounts (same filters as the list)",
      tags,
      access: anyRole,
      request: { query: s.accountExportQuery },
      response: {
        status: 200,
        description: "Every matching account as CSV",
        schema: z.string(),
        contentType: "text/csv",
      },
      handle: (input) => {
        sendCsv(
          input.ctx,
          "accounts.csv",
          accountColumns,
          accounts.accounts.export(input.actor, input.query),
        );
        return undefined;
      },
    }),
    defineRoute({
      operationId: "createAccount",
      method: "post",
      path: "/api/v1/accounts",
      summary: "Create a SIP account (manual: active at once; wizard: waits for activation)",
      tags,
      access: writers,
      request: { body: s.createAccountBody },
      response: {
        status: 201,
        description: "The new account, with its password (shown this once)",
        schema: s.accountWithPasswordSchema,
      },
      problems: [409],
      handle: (input) => accounts.creation.createOne(input.actor, input.body),
    }),
    defineRoute({
      operationId: "importAccounts",
      method: "post",
      path: "/api/v1/accounts/import",
      summary: "Import SIP accounts from CSV: every row valid, or nothing is created",
      tags,
      access: writers,
      request: {
        body: z
          .string()
          .describe(
            `A header row naming columns (${s.importColumnsText}; the export's read-only columns are accepted and ignored), then one account per line, separated by , or ;`,
          ),
        bodyType: "csv",
      },
      response: {
        status: 201,
        description:
          "What was created, with passwords (shown this once); with Accept: text/csv the same as a CSV credentials sheet",
        schema: s.importResultSchema,
      },
      problems: [409, 413, 415],
      handle: async (input) => {
        const result = await accounts.creation.import(input.actor, parseAccountCsv(input.body));
        if (input.ctx.accepts("application/json", "text/csv") !== "text/csv") return result;
        sendCsv(input.ctx, "credentials.csv", credentialColumns, each(result.accounts));
        input.ctx.status = 201;
        return undefined;
      },
    }),
    defineRoute({
      operationId: "getAccount",
      method: "get",
      path: "/api/v1/accounts/{id}",
      summary:
        "Refresh: an account with its status, profile, registrations, messages, certificates, license and recent events",
      tags,
      access: anyRole,
      request: { params: idParams },
      response: { status: 200, description: "The account in detail", schema: s.accountDetailsSchema },
      handle: (input) => accounts.details.get(input.actor, input.params.id),
    }),
    defineRoute({
      operationId: "listAccountEvents",
      method: "get",
      path: "/api/v1/accounts/{id}/events",
      summary: "The audit trail of an account",
      tags,
      access: anyRole,
      request: { params: idParams, query: auditEventListQuery.omit({ targetType: true, targetId: true }) },
      response: { status: 200, description: "A page of audit events", schema: auditEventPage },
      handle: (input) => accounts.accounts.listEvents(input.actor, input.params.id, input.query),
    }),
    defineRoute({
      operationId: "updateAccount",
      method: "patch",
      path: "/api/v1/accounts/{id}",
      summary: "Edit a SIP account (a new username or domain drops its registrations)",
      tags,
      access: writers,
      request: { params: idParams, body: s.updateAccountBody },
      response: { status: 200, description: "The changed account", schema: s.accountSchema },
      problems: [409],
      handle: (input) => accounts.accounts.update(input.actor, input.params.id, input.body),
    }),
    defineRoute({
      operationId: "deleteAccount",
      method: "delete",
      path: "/api/v1/accounts/{id}",
      summary: "Delete a SIP account: gone from lists, credentials purged, registrations dropped",
      tags,
      access: writers,
      request: { params: idParams },
      response: { status: 200, description: "The account as it was", schema: s.accountSchema },
      handle: (input) => accounts.accounts.delete(input.actor, input.params.id),
    }),
    defineRoute({
      operationId: "resetAccountPassword",
      method: "post",
      path: "/api/v1/accounts/{id}/reset-password",
      summary: "Set a new SIP password (random unless given); the answer shows it once",
      tags,
      access: writers,
      request: { params: idParams, body: s.resetPasswordBody },
      response: {
        status: 200,
        description: "The account with its new password",
        schema: s.accountWithPasswordSchema,
      },
      handle: (input) => accounts.accounts.resetPassword(input.actor, input.params.id, input.body ?? {}),
    }),
    defineRoute({
      operationId: "disableAccount",
      method: "post",
      path: "/api/v1/accounts/{id}/disable",
      summary: "Disable a SIP account: it can neither register, call nor be called",
      tags,
      access: writers,
      request: { params: idParams, body: s.disableAccountBody },
      response: { status: 200, description: "The disabled account", schema: s.accountSchema },
      problems: [409],
      handle: (input) => accounts.accounts.disable(input.actor, input.params.id, input.body),
    }),
    defineRoute({
      operationId: "moveAccount",
      method: "post",
      path: "/api/v1/accounts/{id}/move",
      summary:
        "Move an account to another group or sub-group of its organisation (it keeps its identity; its profile follows the new group's default unless it has its own)",
      tags,
      access: writers,
      request: { params: idParams, body: s.moveAccountBody },
      response: { status: 200, description: "The moved account", schema: s.accountSchema },
      problems: [409],
      handle: (input) => accounts.moves.move(input.actor, input.params.id, input.body),
    }),
    defineRoute({
      operationId: "enableAccount",
      method: "post",
      path: "/api/v1/accounts/{id}/enable",
      summary: "Enable a disabled SIP account (back to pending activation if it was never activated)",
      tags,
      access: writers,
      request: { params: idParams },
      response: { status: 200, description: "The enabled account", schema: s.accountSchema },
      problems: [409],
      handle: (input) => accounts.accounts.enable(input.actor, input.params.id),
    }),
  ];
}
