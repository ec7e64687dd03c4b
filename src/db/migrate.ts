import type { Knex } from "knex";
import { migrations } from "../../migrations/index.js";

type Migration = (typeof migrations)[number];

const migrationSource: Knex.MigrationSource<Migration> = {
  getMigrations: async () => [...migrations],
  getMigrationName: ([name]) => name,
  getMigration: async ([, migration]) => migration,
};

const migratorConfig: Knex.MigratorConfig = {
  migrationSource,
  tableName: "knex_migrations",
};

/** Applies every pending migration; returns the names applied. */
export async function migrateLatest(knex: Knex): Promise<string[]> {
  const [, applied] = (await knex.migrate.latest(migratorConfig)) as [number, string[]];
  return applied;
}

/** Reverts the last batch, or every migration with `all`; returns the names reverted. */
export async function migrateRollback(knex: Knex, all = false): Promise<string[]> {
  const [, reverted] = (await knex.migrate.rollback(migratorConfig, all)) as [number, string[]];
  return reverted;
}

/** Names of the migrations not yet applied. */
export async function pendingMigrations(knex: Knex): Promise<string[]> {
  // With a custom migration source, knex lists the pending entries as that source returns them.
  const [, pending] = (await knex.migrate.list(migratorConfig)) as [unknown, Migration[]];
  return pending.map(([name]) => name);
}

export const allMigrationNames = (): string[] => migrations.map(([name]) => name);
