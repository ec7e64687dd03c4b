/**
 * The job queue: named jobs with a small JSON payload, handled by one handler per name. Jobs
 * here only carry work; what must not be lost (the outbox rows) lives in the database, so an
 * adapter may lose a job (Redis restarted empty, the process died) without losing the work.
 */
export type JobPayload = Record<string, string | number | boolean | null>;

export type JobHandler = (payload: JobPayload) => Promise<void>;

export interface JobOptions {
  /** Jobs with an id already waiting or running are not added twice. */
  jobId?: string;
  delayMs?: number;
}

export interface WorkerOptions {
  concurrency: number;
  /** At most `max` jobs of this name start per `perMs`, across every process sharing the queue. */
  rateLimit?: { max: number; perMs: number };
}

export interface JobQueue {
  /** "bullmq" or "in-process", for logs and metrics. */
  readonly kind: string;
  /** Registers the handler of a job name; call before start(). */
  process(name: string, handler: JobHandler, options: WorkerOptions): void;
  add(name: string, payload: JobPayload, options?: JobOptions): Promise<void>;
  /**
   * Runs a job every `everyMs`, once between all processes sharing the queue (BullMQ) or in
   * this process (in-process). For periodic work such as renewal reminders.
   */
  schedule(scheduleId: string, name: string, everyMs: number, payload?: JobPayload): Promise<void>;
  start(): Promise<void>;
  /** Stops taking jobs, waits for running ones, then closes connections. */
  close(): Promise<void>;
}
