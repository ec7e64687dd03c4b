import { type ConnectionOptions, Queue, Worker } from "bullmq";
import type { Logger } from "../logger.js";
import type { JobHandler, JobOptions, JobPayload, JobQueue, WorkerOptions } from "./queue.js";

/**
 * BullMQ on Redis: one BullMQ queue per job name, so a rate limit per job name (per gateway)
 * holds across every process sharing the Redis. BullMQ makes its connections itself (ioredis, with
 * its error handlers and blocking-safe retry settings); they reconnect with backoff when Redis
 * goes away, and BullMQ reports the errors on its queues and workers, which we log.
 */
export class BullmqQueue implements JobQueue {
  readonly kind = "bullmq";
  private readonly queues = new Map<string, Queue>();
  private readonly workers: Worker[] = [];
  private readonly registrations = new Map<string, { handler: JobHandler; options: WorkerOptions }>();
  private readonly connection: ConnectionOptions;

  constructor(
    redisUrl: string,
    /** Keeps the keys of one installation (or one test) apart from others on the same Redis. */
    private readonly prefix: string,
    private readonly logger: Logger,
  ) {
    this.connection = { url: redisUrl };
  }

  process(name: string, handler: JobHandler, options: WorkerOptions): void {
    this.registrations.set(name, { handler, options });
  }

  async add(name: string, payload: JobPayload, options: JobOptions = {}): Promise<void> {
    await this.queue(name).add(name, payload, {
      ...(options.jobId ? { jobId: options.jobId } : {}),
      ...(options.delayMs ? { delay: options.delayMs } : {}),
      removeOnComplete: { count: 1000 },
      removeOnFail: { count: 1000 },
    });
  }

  async schedule(scheduleId: string, name: string, everyMs: number, payload: JobPayload = {}): Promise<void> {
    await this.queue(name).upsertJobScheduler(scheduleId, { every: everyMs }, { name, data: payload });
  }

  async start(): Promise<void> {
    for (const [name, { handler, options }] of this.registrations) {
      const worker = new Worker(name, async (job) => handler(job.data as JobPayload), {
        connection: this.connection,
        prefix: this.prefix,
        concurrency: options.concurrency,
        ...(options.rateLimit
          ? { limiter: { max: options.rateLimit.max, duration: options.rateLimit.perMs } }
          : {}),
      });
      worker.on("error", (error: Error) =>
        this.logger.warn({ err: error, job: name }, "BullMQ worker error"),
      );
      worker.on("failed", (job, error: Error) =>
        this.logger.error({ err: error, job: name, jobId: job?.id }, "BullMQ job failed"),
      );
      this.workers.push(worker);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.close()));
    await Promise.all([...this.queues.values()].map((queue) => queue.close()));
  }

  private queue(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.connection, prefix: this.prefix });
      queue.on("error", (error: Error) =>
        this.logger.warn({ err: error, queue: name }, "BullMQ queue error"),
      );
      this.queues.set(name, queue);
    }
    return queue;
  }
}
