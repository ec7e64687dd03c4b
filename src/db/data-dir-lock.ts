import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The embedded database is open in another process (a running server): a state to explain, not a crash. */
export class DatabaseInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holderPid: number,
  ) {
    super(
      `the embedded database in ${dataDir} is in use by process ${holderPid}; ` +
        "stop that provisiond first, or set DATABASE_URL to share a PostgreSQL server",
    );
  }
}

/**
 * PGlite is a single-process database: two processes opening one data directory corrupt it.
 * A pid file refuses the second one with a message instead; a stale file (dead pid) is taken over.
 */
export class DataDirLock {
  private constructor(private readonly path: string) {}

  static acquire(dataDir: string): DataDirLock {
    mkdirSync(dataDir, { recursive: true });
    const path = join(dataDir, "provisiond.pid");
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(path, String(process.pid), { flag: "wx" });
        return new DataDirLock(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        const holder = Number.parseInt(readFileSync(path, "utf8"), 10);
        if (Number.isInteger(holder) && holder !== process.pid && isAlive(holder)) {
          throw new DatabaseInUseError(dataDir, holder);
        }
        rmSync(path, { force: true });
      }
    }
    throw new Error(`could not lock the embedded database in ${dataDir}`);
  }

  release(): void {
    rmSync(this.path, { force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
