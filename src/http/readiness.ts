import type { Database } from "../db/database.js";
import { pendingMigrations } from "../db/migrate.js";
import { DependencyUnavailableError } from "../errors.js";
import type { Logger } from "../logger.js";

/** A readiness check that hangs longer than this counts as a failure: probes must answer quickly. */
export const readinessTimeoutMs = 2000;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * GET /readyz's check: not shutting down, the database answers within readinessTimeoutMs, and
 * no migration is pending. Each failure is a 503 that says which.
 */
export function databaseReadiness(deps: {
  database: Database;
  logger: Logger;
  isShuttingDown: () => boolean;
  timeoutMs?: number;
}): () => Promise<{ database: string }> {
  const timeoutMs = deps.timeoutMs ?? readinessTimeoutMs;
  return async () => {
    if (deps.isShuttingDown()) throw new DependencyUnavailableError("the server is shutting down");
    let pending: string[];
    try {
      pending = await withTimeout(pendingMigrations(deps.database.knex), timeoutMs, "database check");
    } catch (error) {
      deps.logger.warn({ err: error }, "readiness: database unreachable");
      throw new DependencyUnavailableError("the database is unreachable");
    }
    if (pending.length > 0) {
      throw new DependencyUnavailableError(`database migrations pending: ${pending.join(", ")}`);
    }
    return { database: deps.database.kind };
  };
}
