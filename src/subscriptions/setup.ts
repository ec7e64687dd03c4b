import type { AuditService } from "../audit/service.js";
import type { Clock } from "../clock.js";
import type { Database } from "../db/database.js";
import type { Route } from "../http/route.js";
import type { JobQueue } from "../jobs/queue.js";
import type { Logger } from "../logger.js";
import type { OutboxWriter } from "../messaging/outbox.js";
import { type AccountsForSubscriptions, type SendActivationSms, SubscriptionRequests } from "./requests.js";
import { subscriptionRoutes } from "./routes.js";
import { type ScheduleRun, SubscriptionSchedule } from "./schedule.js";

export interface SubscriptionsDependencies {
  database: Database;
  clock: Clock;
  logger: Logger;
  audit: AuditService;
  accounts: AccountsForSubscriptions;
  outbox: OutboxWriter;
  sendActivationSms: SendActivationSms;
  queue: JobQueue;
  /** How often the schedule runs (subscriptions.scheduleIntervalMs). */
  intervalMs: number;
}

export interface Subscriptions {
  routes: Route[];
  schedule: SubscriptionSchedule;
  /** Puts the schedule on the queue and runs it once now, catching up on what a downtime missed. */
  start(): Promise<void>;
}

export const scheduleJobName = "subscriptions.schedule";

/**
 * The subscriptions capability: the request routes, and the schedule on the job queue. Its job
 * handler is registered at once, because the queue starts its workers with messaging's delivery.
 */
export function createSubscriptions(deps: SubscriptionsDependencies): Subscriptions {
  const log = deps.logger.child({ component: "subscriptions" });
  const requests = new SubscriptionRequests(
    deps.database,
    deps.clock,
    deps.audit,
    deps.accounts,
    deps.sendActivationSms,
    log,
  );
  const schedule = new SubscriptionSchedule(
    deps.database,
    deps.clock,
    deps.audit,
    deps.accounts,
    deps.outbox,
    log,
  );
  deps.queue.process(
    scheduleJobName,
    async (): Promise<void> => {
      const run: ScheduleRun = await schedule.run();
      log.debug(run, "subscription schedule run");
    },
    { concurrency: 1 },
  );
  return {
    routes: subscriptionRoutes(requests),
    schedule,
    async start() {
      await deps.queue.schedule("subscriptions", scheduleJobName, deps.intervalMs);
      // No job id: BullMQ keeps finished jobs by id, which would swallow the next start's catch-up.
      await deps.queue.add(scheduleJobName, {});
    },
  };
}
