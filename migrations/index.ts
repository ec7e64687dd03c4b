import type { Knex } from "knex";
import * as tenancy from "./20261122000100_tenancy.js";
import * as accounts from "./20261123000100_accounts.js";
import * as sipBindings from "./20261123000200_sip_bindings.js";
import * as licenseChecks from "./20261123000300_license_checks.js";
import * as pki from "./20261202000100_pki.js";
import * as outbox from "./20261202000200_outbox.js";
import * as messaging from "./20261202000250_messaging.js";
import * as calls from "./20261202000300_calls.js";
import * as registrar from "./20261202000400_registrar.js";
import * as tenantDomains from "./20261202000500_tenant_domains.js";
import * as announcements from "./20261202000600_announcements.js";
import * as provisioningDevices from "./20261203000100_provisioning_devices.js";
import * as snomProvisioning from "./20261203000200_snom_provisioning.js";
import * as groupMembers from "./20261203000250_group_members.js";
import * as subscriptions from "./20261203000300_subscriptions.js";
import * as consoleSignIn from "./20261203000400_console_sign_in.js";

interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/**
 * Every migration, in order. A static list rather than a folder scan, so the same
 * modules run from TypeScript sources (tests) and from dist/ (production) alike.
 * test/db/migrations.test.ts fails if a file in this folder is missing here.
 */
export const migrations: ReadonlyArray<readonly [name: string, migration: Migration]> = [
  ["20261122000100_tenancy", tenancy],
  ["20261123000100_accounts", accounts],
  ["20261123000200_sip_bindings", sipBindings],
  ["20261123000300_license_checks", licenseChecks],
  ["20261202000100_pki", pki],
  ["20261202000200_outbox", outbox],
  ["20261202000250_messaging", messaging],
  ["20261202000300_calls", calls],
  ["20261202000400_registrar", registrar],
  ["20261202000500_tenant_domains", tenantDomains],
  ["20261202000600_announcements", announcements],
  ["20261203000100_provisioning_devices", provisioningDevices],
  ["20261203000200_snom_provisioning", snomProvisioning],
  ["20261203000250_group_members", groupMembers],
  ["20261203000300_subscriptions", subscriptions],
  ["20261203000400_console_sign_in", consoleSignIn],
];
