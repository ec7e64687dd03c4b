import type { Knex } from "knex";
import type { Logger } from "../../logger.js";
import { type SnomFetchRow, snomStore as store } from "./store.js";

/** At most this many fetches wait in memory; past it the oldest are dropped (and counted in the log). */
const maxPending = 10_000;

/**
 * Write-behind for settings fetches: the fetch is handed over and the phone gets its file at
 * once; the rows are written in one multi-row insert per flush. A phone's fetch is never held
 * up by the record of it, and a fleet booting at once costs one insert per interval, not one per
 * phone. Reading the details flushes first, so what an operator sees includes the last fetch.
 */
export class FetchLog {
  private pending: SnomFetchRow[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | null = null;
  private dropped = 0;

  constructor(
    private readonly knex: Knex,
    private readonly flushMs: number,
    private readonly logger: Logger,
  ) {}

  record(row: SnomFetchRow): void {
    if (this.pending.length >= maxPending) {
      this.pending.shift();
      this.dropped++;
    }
    this.pending.push(row);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.flush().catch(() => undefined);
    }, this.flushMs);
  }

  /** Writes what is queued now (after the batch in flight). */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    if (this.dropped > 0) {
      this.logger.warn({ dropped: this.dropped }, "SNOM: fetch records dropped while the database lagged");
      this.dropped = 0;
    }
    this.writing = store
      .recordFetches(this.knex, batch)
      .catch((error: unknown) => {
        // Back in front of what came meanwhile; the next flush tries again.
        this.pending = [...batch, ...this.pending].slice(-maxPending);
        this.logger.warn({ err: error, fetches: batch.length }, "SNOM: writing fetch records failed");
        this.timer ??= setTimeout(() => {
          this.timer = undefined;
          this.flush().catch(() => undefined);
        }, 1000);
        throw error;
      })
      .finally(() => {
        this.writing = null;
      });
    await this.writing;
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush().catch(() => undefined);
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
