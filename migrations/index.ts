import type { Knex } from "knex";
import * as tenancy from "./20261122000100_tenancy.js";
import * as accounts from "./20261123000100_accounts.js";
import * as sipBindings from "./20261123000200_sip_bindings.js";
import * as licenseChecks from "./20261123000300_license_checks.js";
import * as outbox from "./20261202000200_outbox.js";
import * as messaging from "./20261202000250_messaging.js";

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
  ["20261202000200_outbox", outbox],
  ["20261202000250_messaging", messaging],
];
