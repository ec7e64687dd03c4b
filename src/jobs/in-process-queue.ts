import type { Logger } from "../logger.js";
import type { JobHandler, JobOptions, JobPayload, JobQueue, WorkerOptions } from "./queue.js";

interface Registration {
  handler: JobHandler;
  options: WorkerOptions;
  running: number;
  waiting: Array<{ jobId: string | undefined; payload: JobPayload }>;
  /** Start times within the rate window. */
  starts: number[];
  rateTimer: NodeJS.Timeout | null;
}

/**
 * The embedded default: jobs run in this process, from memory. Nothing here survives a restart,
 * which is why callers keep their work in the database and re-add what is due (the outbox sweep).
 */
export class InProcessQueue implements JobQueue {
  readonly kind = "in-process";
  private readonly registrations = new Map<string, Registration>();
  private readonly known = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly idle = new Set<() => void>();
  private started = false;
  private closing = false;

  constructor(private readonly logger: Logger) {}

  process(name: string, handler: JobHandler, options: WorkerOptions): void {
    this.registrations.set(name, { handler, options, running: 0, waiting: [], starts: [], rateTimer: null });
  }

  async add(name: string, payload: JobPayload, options: JobOptions = {}): Promise<void> {
    if (this.closing) return;
    const registration = this.registrations.get(name);
    if (!registration) throw new Error(`no handler for job ${name}`);
    const key = options.jobId ? `${name}:${options.jobId}` : undefined;
    if (key) {
      if (this.known.has(key)) return;
      this.known.add(key);
    }
    const enqueue = () => {
      registration.waiting.push({ jobId: key, payload });
      this.pump(name, registration);
    };
    if (options.delayMs && options.delayMs > 0) {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        enqueue();
      }, options.delayMs);
      this.timers.add(timer);
    } else {
      enqueue();
    }
  }

  async schedule(
    _scheduleId: string,
    name: string,
    everyMs: number,
    payload: JobPayload = {},
  ): Promise<void> {
    const timer = setInterval(() => {
      void this.add(name, payload, { jobId: `schedule:${_scheduleId}` });
    }, everyMs);
    this.timers.add(timer);
  }

  async start(): Promise<void> {
    this.started = true;
    for (const [name, registration] of this.registrations) this.pump(name, registration);
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const registration of this.registrations.values()) {
      registration.waiting.length = 0;
      if (registration.rateTimer) clearTimeout(registration.rateTimer);
    }
    while ([...this.registrations.values()].some((r) => r.running > 0)) {
      await new Promise<void>((resolve) => this.idle.add(resolve));
    }
  }

  private pump(name: string, registration: Registration): void {
    if (!this.started || this.closing) return;
    const { rateLimit, concurrency } = registration.options;
    while (registration.waiting.length > 0 && registration.running < concurrency) {
      if (rateLimit) {
        const now = Date.now();
        while ((registration.starts[0] ?? Number.POSITIVE_INFINITY) <= now - rateLimit.perMs) {
          registration.starts.shift();
        }
        if (registration.starts.length >= rateLimit.max) {
          if (!registration.rateTimer) {
            const wait = (registration.starts[0] as number) + rateLimit.perMs - now;
            registration.rateTimer = setTimeout(() => {
              registration.rateTimer = null;
              this.pump(name, registration);
            }, wait);
          }
          return;
        }
        registration.starts.push(now);
      }
      const job = registration.waiting.shift() as { jobId: string | undefined; payload: JobPayload };
      registration.running += 1;
      registration
        .handler(job.payload)
        .catch((error: unknown) => this.logger.error({ err: error, job: name }, "job failed"))
        .finally(() => {
          registration.running -= 1;
          if (job.jobId) this.known.delete(job.jobId);
          for (const resolve of this.idle) resolve();
          this.idle.clear();
          this.pump(name, registration);
        });
    }
  }
}
