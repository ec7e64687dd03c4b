import { readdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  allMigrationNames,
  migrateLatest,
  migrateRollback,
  pendingMigrations,
} from "../../src/db/migrate.js";
import { packageRoot } from "../../src/package-info.js";
import { createTestDatabase, databaseKind, type TestDatabase } from "../support/database.js";

const tenancyTables = ["api_tokens", "audit_events", "groups", "organisations", "users"];

async function tablesOf(test: TestDatabase): Promise<string[]> {
  const rows = (await test.database
    .knex("information_schema.tables")
    .where({ table_schema: "public", table_type: "BASE TABLE" })
    .whereNotIn("table_name", ["knex_migrations", "knex_migrations_lock"])
    .orderBy("table_name")
    .select("table_name")) as Array<{ table_name: string }>;
  return rows.map((row) => row.table_name);
}

describe(`migrations on ${databaseKind}`, () => {
  let test: TestDatabase | undefined;
  afterEach(async () => {
    await test?.destroy();
    test = undefined;
  });

  it("registers every file of migrations/ in migrations/index.ts, in name order", () => {
    const files = readdirSync(join(packageRoot, "migrations"))
      .filter((file) => /^\d{14}_.+\.ts$/.test(file))
      .map((file) => file.replace(/\.ts$/, ""))
      .sort();
    expect(allMigrationNames()).toEqual(files);
  });

  it("applies every migration to an empty database, then has nothing pending", async () => {
    test = await createTestDatabase({ migrated: false });
    expect(await pendingMigrations(test.database.knex)).toEqual(allMigrationNames());
    expect(await migrateLatest(test.database.knex)).toEqual(allMigrationNames());
    expect(await tablesOf(test)).toEqual(expect.arrayContaining(tenancyTables));
    expect(await pendingMigrations(test.database.knex)).toEqual([]);
    expect(await migrateLatest(test.database.knex)).toEqual([]);
  });

  it("rolls every migration back, leaving no table behind, and can apply them again", async () => {
    test = await createTestDatabase({ migrated: true });
    const reverted = await migrateRollback(test.database.knex, true);
    expect(reverted.sort()).toEqual(allMigrationNames().sort());
    expect(await tablesOf(test)).toEqual([]);
    expect(await pendingMigrations(test.database.knex)).toEqual(allMigrationNames());
    await migrateLatest(test.database.knex);
    expect(await tablesOf(test)).toEqual(expect.arrayContaining(tenancyTables));
  });

  it("enforces the role and scope of a portal user in the schema", async () => {
    test = await createTestDatabase();
    const knex = test.database.knex;
    const [org] = await knex("organisations").insert({ name: "Acme" }).returning("id");
    await expect(
      knex("users").insert({ email: "a@example.com", name: "A", role: "operator", organisation_id: org.id }),
    ).rejects.toThrow(/users_role_scope/);
    await expect(
      knex("users").insert({ email: "b@example.com", name: "B", role: "company_admin" }),
    ).rejects.toThrow(/users_role_scope/);
    await knex("users").insert({
      email: "c@example.com",
      name: "C",
      role: "company_admin",
      organisation_id: org.id,
    });
    await expect(
      knex("users").insert({ email: "C@Example.com", name: "C2", role: "operator" }),
    ).rejects.toThrow(/users_email_unique/);
  });
});
