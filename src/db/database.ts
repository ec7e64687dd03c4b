import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import knexModule, { type Knex } from "knex";

const knex = knexModule.knex;

import ClientPGLite from "knex-pglite";
import type { Config } from "../config/schema.js";
import { DataDirLock } from "./data-dir-lock.js";

export interface Database {
  readonly knex: Knex;
  readonly kind: "postgres" | "pglite";
  /** Where the data lives, without credentials: safe to log. */
  readonly location: string;
  /** PostgreSQL's connection URL, for a connection of its own (LISTEN); null for PGlite. */
  readonly connectionString: string | null;
  close(): Promise<void>;
}

/** PostgreSQL when database.url is set, otherwise PGlite under database.dataDir. */
export async function openDatabase(config: Config["database"]): Promise<Database> {
  if (config.url) return openPostgres(config.url, config.poolMax);
  const dataDir = resolve(config.dataDir, "pglite");
  const lock = DataDirLock.acquire(resolve(config.dataDir));
  try {
    if (!existsSync(join(dataDir, "PG_VERSION"))) {
      // initdb leaves PGlite's WebAssembly memory near 800 MiB; a fresh instance on the
      // initialised directory runs in about half that, so the first start reopens once.
      const initialising = createPglite(dataDir);
      await initialising.waitReady;
      await initialising.close();
    }
    return await openPglite(createPglite(dataDir), dataDir, () => lock.release());
  } catch (error) {
    lock.release();
    throw error;
  }
}

/** A PGlite instance as the server runs it; in memory without a directory. */
export function createPglite(dataDir?: string): PGlite {
  return new PGlite(dataDir);
}

export function openPostgres(url: string, poolMax = 10): Database {
  const instance = knex({
    client: "pg",
    connection: { connectionString: url, application_name: "provisiond" },
    pool: { min: 0, max: poolMax },
    acquireConnectionTimeout: 10_000,
  });
  return {
    knex: instance,
    kind: "postgres",
    location: redactUrl(url),
    connectionString: url,
    close: () => instance.destroy(),
  };
}

export async function openPglite(pglite: PGlite, location: string, onClose?: () => void): Promise<Database> {
  await pglite.waitReady;
  const instance = knex({ client: ClientPGLite, connection: () => ({ pglite }) } as Knex.Config);
  let closed = false;
  return {
    knex: instance,
    kind: "pglite",
    location,
    connectionString: null,
    async close() {
      if (closed) return;
      closed = true;
      await instance.destroy();
      if (!pglite.closed) await pglite.close();
      onClose?.();
    },
  };
}

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(unparseable database URL)";
  }
}
