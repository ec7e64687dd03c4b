import { randomBytes } from "node:crypto";
import { createPglite, type Database, openPglite, openPostgres } from "../../src/db/database.js";
import { migrateLatest } from "../../src/db/migrate.js";

/** Which database this run of the suite uses: PostgreSQL when DATABASE_URL is set, else PGlite. */
export const databaseKind: "postgres" | "pglite" = process.env.DATABASE_URL ? "postgres" : "pglite";

export interface TestDatabase {
  database: Database;
  /** For PostgreSQL, a URL other processes (the CLI) can use; null for in-memory PGlite. */
  url: string | null;
  /** Makes the database unreachable, as when a server goes away. */
  makeUnreachable(): Promise<void>;
  destroy(): Promise<void>;
}

/**
 * A fresh, empty database for one test: a new in-memory PGlite, or a new PostgreSQL
 * database created next to DATABASE_URL and dropped afterwards.
 */
export async function createTestDatabase(options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const test = databaseKind === "postgres" ? await createPostgresDatabase() : await createPgliteDatabase();
  if (options.migrated ?? true) await migrateLatest(test.database.knex);
  return test;
}

async function createPgliteDatabase(): Promise<TestDatabase> {
  const pglite = createPglite();
  const database = await openPglite(pglite, "memory");
  return {
    database,
    url: null,
    makeUnreachable: async () => {
      await pglite.close();
    },
    destroy: () => database.close(),
  };
}

async function createPostgresDatabase(): Promise<TestDatabase> {
  const adminUrl = process.env.DATABASE_URL as string;
  const name = `provisiond_test_${randomBytes(6).toString("hex")}`;
  const admin = openPostgres(adminUrl, 1);
  await admin.knex.raw(`create database "${name}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const database = openPostgres(url.toString(), 4);
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    await admin.knex.raw(`drop database if exists "${name}" with (force)`);
  };
  return {
    database,
    url: url.toString(),
    makeUnreachable: drop,
    async destroy() {
      await database.close();
      await drop();
      await admin.close();
    },
  };
}
