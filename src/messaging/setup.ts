import type { Registry } from "prom-client";
import type { Actor } from "../audit/actor.js";
import type { AuditService } from "../audit/service.js";
import type { Clock } from "../clock.js";
import type { Config } from "../config/schema.js";
import type { Database } from "../db/database.js";
import type { Route } from "../http/route.js";
import { BullmqQueue } from "../jobs/bullmq-queue.js";
import { InProcessQueue } from "../jobs/in-process-queue.js";
import type { JobQueue } from "../jobs/queue.js";
import type { Logger } from "../logger.js";
import { AccountMessages, type AccountsForMessaging } from "./account-messages.js";
import { ActivationLinks } from "./activation-links.js";
import { Delivery } from "./delivery.js";
import { EmailGateway } from "./gateways/email-gateway.js";
import type { Gateway } from "./gateways/gateway.js";
import { HttpGateway } from "./gateways/http-gateway.js";
import { LogGateway } from "./gateways/log-gateway.js";
import { SmppGateway } from "./gateways/smpp-gateway.js";
import { InstallationClicks } from "./installation-clicks.js";
import { MessageTemplates, type OrganisationAccess } from "./message-templates.js";
import { createMessagingMetrics } from "./metrics.js";
import { Outbox } from "./outbox.js";
import { outboxStore } from "./outbox-store.js";
import { messagingRoutes } from "./routes.js";
import type { Message } from "./views.js";

export interface MessagingDependencies {
  config: Config["messaging"];
  redisUrl: string | null;
  database: Database;
  clock: Clock;
  logger: Logger;
  accounts: AccountsForMessaging;
  organisations: OrganisationAccess;
  audit: AuditService;
  registry: Registry;
  /** This server's URL once it listens, for links when messaging.publicUrl is not set. */
  serverUrl: () => string;
}

export interface Messaging {
  /** For other capabilities' messages (the PKI's duress alert), written in their transactions. */
  outbox: Outbox;
  /** The activation links (/a/{token}) this capability makes, for provisioning to serve. */
  activationLinks: ActivationLinks;
  routes: Route[];
  queue: JobQueue;
  delivery: Delivery;
  /** The "messages" section of the account details. */
  messagesOf(accountId: string): Promise<Message[]>;
  /** The activation SMS of a PGSM wizard account, as POST /accounts/{id}/activation-sms sends it. */
  sendActivationSms(actor: Actor, accountId: string): Promise<Message>;
  /** Starts delivering (after the HTTP listener, which the callback URL and links name). */
  start(): Promise<void>;
  close(): Promise<void>;
}

export function createMessaging(deps: MessagingDependencies): Messaging {
  const { config, database, clock, logger } = deps;
  const log = logger.child({ component: "messaging" });
  const publicUrl = () => (config.publicUrl ?? deps.serverUrl()).replace(/\/+$/, "");
  const outbox = new Outbox(clock);
  const queue: JobQueue = deps.redisUrl
    ? new BullmqQueue(deps.redisUrl, config.queuePrefix, log)
    : new InProcessQueue(log);
  const metrics = createMessagingMetrics(deps.registry, () => outboxStore.depth(database.knex));
  const gateways = { sms: smsGateway(config, publicUrl, log), email: emailGateway(config, log) };
  const delivery = new Delivery(database.knex, clock, log, gateways, queue, metrics, {
    sweepMs: config.sweepMs,
    leaseSeconds: config.leaseSeconds,
    maxAttempts: config.maxAttempts,
    retryBaseMs: config.retryBaseMs,
    retryMaxMs: config.retryMaxMs,
    concurrency: config.concurrency,
    ratePerSecond: { sms: config.sms.ratePerSecond, email: config.email.ratePerSecond },
  });
  const links = new ActivationLinks(clock, config.activationLinkSeconds);
  const messages = new AccountMessages(database, deps.accounts, deps.audit, outbox, links, {
    maxSegments: config.sms.maxSegments,
    reachablePrefixes: config.sms.reachablePrefixes,
    publicUrl,
  });
  const routes = messagingRoutes({
    messages,
    clicks: new InstallationClicks(database, clock, deps.accounts),
    templates: new MessageTemplates(database, clock, deps.audit, deps.organisations),
    delivery,
    callbackSecret: config.sms.http.callbackSecret,
  });
  return {
    outbox,
    activationLinks: links,
    routes,
    queue,
    delivery,
    messagesOf: (accountId) => messages.ofAccount(accountId, 20),
    sendActivationSms: (actor, accountId) => messages.sendActivationSms(actor, accountId),
    async start() {
      await delivery.start(outbox);
      log.info(
        { queue: queue.kind, sms: gateways.sms.name, email: gateways.email.name },
        "message delivery started",
      );
    },
    close: () => delivery.stop(),
  };
}

function smsGateway(config: Config["messaging"], publicUrl: () => string, logger: Logger): Gateway {
  const sms = config.sms;
  if (sms.gateway === "http" && sms.http.url) {
    const secret = sms.http.callbackSecret;
    return new HttpGateway({
      ...sms.http,
      url: sms.http.url,
      timeoutMs: sms.timeoutMs,
      get callbackUrl() {
        return secret ? `${publicUrl()}/api/v1/messaging/status-callbacks/${secret}` : null;
      },
    });
  }
  if (sms.gateway === "smpp" && sms.smpp.url) {
    return new SmppGateway({ ...sms.smpp, url: sms.smpp.url, timeoutMs: sms.timeoutMs }, logger);
  }
  return new LogGateway("log", logger);
}

function emailGateway(config: Config["messaging"], logger: Logger): Gateway {
  return new EmailGateway({ ...config.email, timeoutMs: config.sms.timeoutMs }, logger);
}
