import { fork } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
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
    if (!existsSync(join(dataDir, "PG_VERSION")))
      await initialiseInChild(dataDir, config.pgliteSharedBuffersMiB);
    return await openPglite(createPglite(dataDir, config.pgliteSharedBuffersMiB), dataDir, () =>
      lock.release(),
    );
  } catch (error) {
    lock.release();
    throw error;
  }
}

/** PGlite's own start parameters (its defaults are replaced, not extended, by `startParams`). */
const pgliteStartParams = [
  "--single",
  "-F",
  "-O",
  "-j",
  "-c",
  "search_path=public",
  "-c",
  "exit_on_error=false",
  "-c",
  "log_checkpoints=false",
  "-c",
  "max_worker_processes=0",
  "-c",
  "max_parallel_workers=0",
  "-c",
  "max_parallel_workers_per_gather=0",
  "-c",
  "io_method=sync",
  "-c",
  "max_parallel_maintenance_workers=0",
];

/**
 * A PGlite instance as the server runs it; in memory without a directory. Shared buffers
 * live in the WebAssembly memory, which never shrinks: PostgreSQL's 128 MiB default is most
 * of an idle server's footprint, and the embedded database is small and cached by the OS anyway.
 */
export function createPglite(dataDir?: string, sharedBuffersMiB = 16): PGlite {
  return new PGlite(dataDir, {
    startParams: [...pgliteStartParams, "-c", `shared_buffers=${sharedBuffersMiB}MB`],
  });
}

/** Runs initdb in a child process, which gives its memory back when it exits (see pglite-init.ts). */
async function initialiseInChild(dataDir: string, sharedBuffersMiB: number): Promise<void> {
  // The sibling module in the same form as this one: .js from dist/, .ts under tsx (which the
  // child inherits through execArgv).
  const extension = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
  const script = fileURLToPath(new URL(`./pglite-init${extension}`, import.meta.url));
  const child = fork(script, [dataDir, String(sharedBuffersMiB)], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const code = await new Promise<number | null>((done, failed) => {
    child.on("error", failed);
    child.on("exit", (exitCode) => done(exitCode));
  });
  if (code !== 0)
    throw new Error(`creating the embedded database in ${dataDir} failed (initdb exited with ${code})`);
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
