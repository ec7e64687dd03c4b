import cluster, { type Worker } from "node:cluster";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { SipSubscriber } from "../../accounts/service.js";
import type { Config } from "../../config/schema.js";
import type { DomainEvent, DomainEvents } from "../../events.js";
import { Lifecycle } from "../../lifecycle.js";
import type { Logger } from "../../logger.js";
import type { FindRealm } from "../realms.js";
import type { TransportName } from "../stack/transport/types.js";
import type { AccountIdsIn, FindSipSubscriber } from "../subscribers.js";

type SipConfig = Config["sip"];

/**
 * SIP on several processes (sip.workers > 1): Node's cluster forks workers that run only the
 * SIP endpoint and registrar; they share the listening sockets (the primary hands the same UDP
 * socket to every worker; TCP connections are dealt round-robin). The primary keeps the accounts:
 * workers ask it for subscribers over IPC (and cache them), and it forwards domain events to
 * them. Bindings go to the shared database, so any process can show and route them.
 *
 * Limits of this mode: a UDP retransmission may reach another worker than the original, which
 * then answers it afresh instead of from its transaction (harmless for REGISTER), and each
 * worker checks nonce-counts on its own.
 */

export type WorkerMessage =
  | { type: "ready"; addresses: Array<{ transport: TransportName; address: string; port: number }> }
  | { type: "find-subscriber"; id: number; username: string; sipDomain: string }
  | { type: "find-accounts"; id: number; where: { organisationId: string } | { groupId: string } }
  | { type: "find-realm"; id: number; sipDomain: string }
  | { type: "failed"; message: string };

export type PrimaryMessage =
  | { type: "subscriber"; id: number; subscriber: SipSubscriber | null }
  | { type: "accounts"; id: number; accountIds: string[] }
  | { type: "realm"; id: number; realm: Awaited<ReturnType<FindRealm>> }
  | { type: "domain-event"; event: DomainEvent }
  | { type: "shutdown" };

export interface WorkerSettings {
  sip: SipConfig;
  databaseUrl: string;
  poolMax: number;
  logLevel: string;
  index: number;
}

export const workerSettingsVariable = "PROVISIOND_SIP_WORKER";

function workerScript(): { exec: string; execArgv: string[] } {
  const compiled = fileURLToPath(new URL("./worker.js", import.meta.url));
  if (existsSync(compiled)) return { exec: compiled, execArgv: [] };
  // Running from the TypeScript sources (tests, npm run dev): let tsx load the worker.
  return { exec: fileURLToPath(new URL("./worker.ts", import.meta.url)), execArgv: ["--import", "tsx"] };
}

export interface SipWorkers {
  addresses(): Array<{ transport: TransportName; address: string; port: number }>;
  close(): Promise<void>;
}

export async function startSipWorkers(options: {
  config: SipConfig;
  databaseUrl: string;
  poolMax: number;
  logLevel: string;
  logger: Logger;
  events: DomainEvents;
  findSipSubscriber: FindSipSubscriber;
  accountIdsIn: AccountIdsIn;
  findRealm: FindRealm;
}): Promise<SipWorkers> {
  const { exec, execArgv } = workerScript();
  // A larger young generation: a registrar allocates briefly-lived objects per message, and the
  // default semi-space makes the scavenger run several times as often (measured about 15%).
  const inherited = process.execArgv.filter((a) => !a.startsWith("--cpu-prof"));
  const youngGeneration = inherited.some((a) => a.startsWith("--max-semi-space-size"))
    ? []
    : ["--max-semi-space-size=32"];
  cluster.setupPrimary({ exec, execArgv: [...inherited, ...youngGeneration, ...execArgv] });
  const workers: Worker[] = [];
  let addresses: Array<{ transport: TransportName; address: string; port: number }> = [];
  let stopping = false;
  const lifecycle = new Lifecycle(options.logger);
  // Registered before the first fork: a start that fails stops every worker already forked.
  lifecycle.defer("SIP workers", async () => {
    stopping = true;
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve) => {
            if (worker.isDead()) {
              resolve();
              return;
            }
            const force = setTimeout(() => worker.process.kill("SIGKILL"), 5000);
            worker.once("exit", () => {
              clearTimeout(force);
              resolve();
            });
            if (worker.isConnected()) worker.send({ type: "shutdown" } satisfies PrimaryMessage);
            else worker.process.kill("SIGTERM");
          }),
      ),
    );
  });

  const started = Array.from({ length: options.config.workers }, (_, index) => {
    const settings: WorkerSettings = {
      sip: options.config,
      databaseUrl: options.databaseUrl,
      poolMax: options.poolMax,
      logLevel: options.logLevel,
      index,
    };
    const worker = cluster.fork({ [workerSettingsVariable]: JSON.stringify(settings) });
    workers.push(worker);
    return new Promise<void>((resolve, reject) => {
      worker.on("message", (message: WorkerMessage) => {
        if (message.type === "ready") {
          addresses = message.addresses;
          resolve();
        } else if (message.type === "failed") {
          reject(new Error(`SIP worker ${index}: ${message.message}`));
        } else if (message.type === "find-accounts") {
          options
            .accountIdsIn(message.where)
            .catch((error: unknown) => {
              options.logger.error({ err: error }, "SIP worker: account lookup failed");
              return [];
            })
            .then((accountIds) => {
              if (worker.isConnected())
                worker.send({ type: "accounts", id: message.id, accountIds } satisfies PrimaryMessage);
            });
        } else if (message.type === "find-subscriber") {
          options
            .findSipSubscriber(message.username, message.sipDomain)
            .then(
              (subscriber) => subscriber,
              (error: unknown) => {
                options.logger.error({ err: error }, "SIP worker: subscriber lookup failed");
                return null;
              },
            )
            .then((subscriber) => {
              if (worker.isConnected())
                worker.send({ type: "subscriber", id: message.id, subscriber } satisfies PrimaryMessage);
            });
        } else if (message.type === "find-realm") {
          options
            .findRealm(message.sipDomain)
            .catch((error: unknown) => {
              options.logger.error({ err: error }, "SIP worker: realm lookup failed");
              return null;
            })
            .then((realm) => {
              if (worker.isConnected())
                worker.send({ type: "realm", id: message.id, realm } satisfies PrimaryMessage);
            });
        }
      });
      worker.once("exit", (code) => {
        if (!stopping) options.logger.error({ worker: index, code }, "SIP worker exited");
        reject(new Error(`SIP worker ${index} exited with code ${code}`));
      });
    });
  });

  const unsubscribe = options.events.subscribe((event) => {
    for (const worker of workers) {
      if (worker.isConnected()) worker.send({ type: "domain-event", event } satisfies PrimaryMessage);
    }
  });
  lifecycle.defer("SIP worker events", unsubscribe);

  return lifecycle.start(async () => {
    await Promise.all(started);
    options.logger.info({ workers: workers.length, addresses }, "SIP workers listening");
    return { addresses: () => addresses, close: () => lifecycle.close() };
  });
}
