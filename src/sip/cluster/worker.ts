/**
 * A SIP worker process (sip.workers > 1): the SIP endpoint and registrar only, on the sockets the
 * cluster primary shares. See src/sip/cluster/primary.ts.
 */
import type { SipSubscriber } from "../../accounts/service.js";
import { systemClock } from "../../clock.js";
import { openPostgres } from "../../db/database.js";
import { DomainEvents } from "../../events.js";
import { Lifecycle } from "../../lifecycle.js";
import { createLogger } from "../../logger.js";
import type { FindRealm } from "../realms.js";
import { startSip } from "../setup.js";
import { UploadedAnnouncements } from "../uploaded-announcements.js";
import {
  type PrimaryMessage,
  type WorkerMessage,
  type WorkerSettings,
  workerSettingsVariable,
} from "./primary.js";

const send = (message: WorkerMessage) => process.send?.(message);

async function main(): Promise<void> {
  const settings = JSON.parse(process.env[workerSettingsVariable] ?? "null") as WorkerSettings | null;
  if (!settings || !process.send) throw new Error("a SIP worker is started by the provisiond primary");
  const logger = createLogger(settings.logLevel).child({ sipWorker: settings.index });
  const lifecycle = new Lifecycle(logger);
  const database = await lifecycle.open(
    "database",
    () => openPostgres(settings.databaseUrl, settings.poolMax),
    (database) => database.close(),
  );
  const events = new DomainEvents(logger);

  let nextId = 0;
  const pending = new Map<number, (subscriber: SipSubscriber | null) => void>();
  const findSipSubscriber = (username: string, sipDomain: string) =>
    new Promise<SipSubscriber | null>((resolve) => {
      const id = ++nextId;
      pending.set(id, resolve);
      send({ type: "find-subscriber", id, username, sipDomain });
    });
  const pendingRealms = new Map<number, (realm: Awaited<ReturnType<FindRealm>>) => void>();
  const findRealm: FindRealm = (sipDomain) =>
    new Promise((resolve) => {
      const id = ++nextId;
      pendingRealms.set(id, resolve);
      send({ type: "find-realm", id, sipDomain });
    });

  const pendingAccounts = new Map<number, (accountIds: string[]) => void>();
  const accountIdsIn = (where: { organisationId: string } | { groupId: string }) =>
    new Promise<string[]>((resolve) => {
      const id = ++nextId;
      pendingAccounts.set(id, resolve);
      send({ type: "find-accounts", id, where });
    });

  // A SIP start that fails closes the database before the worker reports the failure.
  const runtime = await lifecycle.start(() =>
    lifecycle.open(
      "SIP",
      async () =>
        startSip({
          config: {
            ...settings.sip,
            workers: 1,
            nodeId: `${settings.sip.nodeId ?? (await import("node:os")).hostname()}/${settings.index}`,
          },
          knex: database.knex,
          clock: systemClock,
          logger,
          events,
          findSipSubscriber,
          accountIdsIn,
          findRealm,
          // Read from the shared database; an upload reaches a worker within the cache time.
          uploadedAnnouncements: new UploadedAnnouncements(database.knex, systemClock, logger),
          databaseKind: "postgres",
        }),
      (runtime) => runtime.close(),
    ),
  );

  process.on("message", (message: PrimaryMessage) => {
    if (message.type === "subscriber") {
      pending.get(message.id)?.(message.subscriber);
      pending.delete(message.id);
    } else if (message.type === "accounts") {
      pendingAccounts.get(message.id)?.(message.accountIds);
      pendingAccounts.delete(message.id);
    } else if (message.type === "realm") {
      pendingRealms.get(message.id)?.(message.realm);
      pendingRealms.delete(message.id);
    } else if (message.type === "domain-event") {
      void events.deliver([message.event]);
    } else if (message.type === "shutdown") {
      void lifecycle.close().finally(() => process.exit(0));
    }
  });
  // The primary going away (crash, kill) takes the worker with it.
  process.on("disconnect", () => process.exit(0));
  send({ type: "ready", addresses: runtime.addresses() });
}

main().catch((error: unknown) => {
  send({ type: "failed", message: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});
