import type { Knex } from "knex";
import type { Clock } from "../clock.js";
import type { Logger } from "../logger.js";

/** One registered contact of an account (RFC 3261 section 10: a binding of an address-of-record). */
export interface Binding {
  id: string;
  accountId: string;
  aor: string;
  contact: string;
  q: number | null;
  /** Epoch milliseconds. */
  expiresAt: number;
  callId: string;
  cseq: number;
  transport: string;
  sourceAddress: string;
  sourcePort: number;
  localAddress: string;
  localPort: number;
  flowId: string | null;
  nodeId: string;
  userAgent: string | null;
  instanceId: string | null;
  /** Epoch milliseconds when its TCP/TLS/WS connection closed, for a binding kept after that. */
  connectionLostAt: number | null;
}

interface BindingRow {
  id: string;
  account_id: string;
  aor: string;
  contact: string;
  q: number | null;
  expires_at: Date | string;
  call_id: string;
  cseq: number;
  transport: string;
  source_address: string;
  source_port: number;
  local_address: string;
  local_port: number;
  flow_id: string | null;
  node_id: string;
  user_agent: string | null;
  instance_id: string | null;
  connection_lost_at: Date | string | null;
}

const toRow = (binding: Binding, now: Date): BindingRow & { updated_at: Date } => ({
  id: binding.id,
  account_id: binding.accountId,
  aor: binding.aor,
  contact: binding.contact,
  q: binding.q,
  expires_at: new Date(binding.expiresAt),
  call_id: binding.callId,
  cseq: binding.cseq,
  transport: binding.transport,
  source_address: binding.sourceAddress,
  source_port: binding.sourcePort,
  local_address: binding.localAddress,
  local_port: binding.localPort,
  flow_id: binding.flowId,
  node_id: binding.nodeId,
  user_agent: binding.userAgent,
  instance_id: binding.instanceId,
  connection_lost_at: binding.connectionLostAt === null ? null : new Date(binding.connectionLostAt),
  updated_at: now,
});

const fromRow = (row: BindingRow): Binding => ({
  id: row.id,
  accountId: row.account_id,
  aor: row.aor,
  contact: row.contact,
  q: row.q === null ? null : Number(row.q),
  expiresAt: new Date(row.expires_at).getTime(),
  callId: row.call_id,
  cseq: Number(row.cseq),
  transport: row.transport,
  sourceAddress: row.source_address,
  sourcePort: Number(row.source_port),
  localAddress: row.local_address,
  localPort: Number(row.local_port),
  flowId: row.flow_id,
  nodeId: row.node_id,
  userAgent: row.user_agent,
  instanceId: row.instance_id,
  connectionLostAt: row.connection_lost_at === null ? null : new Date(row.connection_lost_at).getTime(),
});

type PendingWrite = { op: "upsert"; binding: Binding } | { op: "delete"; binding: Binding };

/**
 * Changes queued (or handed to the database) together, indexed by account and then by contact,
 * so that loading one account looks only at that account's changes, not at the whole backlog.
 */
class Batch {
  readonly accounts = new Map<string, Map<string, PendingWrite>>();
  size = 0;

  set(change: PendingWrite): void {
    const { accountId, contact } = change.binding;
    let changes = this.accounts.get(accountId);
    if (!changes) {
      changes = new Map();
      this.accounts.set(accountId, changes);
    }
    const before = changes.size;
    changes.set(contact, change);
    this.size += changes.size - before;
  }

  dropAccount(accountId: string): void {
    const changes = this.accounts.get(accountId);
    if (!changes) return;
    this.size -= changes.size;
    this.accounts.delete(accountId);
  }
}

const batchRows = 500;

/**
 * The SQL of sip_bindings, with write-behind: binding changes are queued and written in
 * batches (one multi-row upsert per flush) instead of one statement per REGISTER. Within a
 * batch the last change of a binding wins. With flushMs = 0 every change is written before the
 * registrar answers.
 */
export class BindingStore {
  private pending = new Batch();
  /** The batch handed to the database and not committed yet (at most one). */
  private readonly writing = new Set<Batch>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly knex: Knex,
    private readonly flushMs: number,
    private readonly logger: Logger,
    private readonly clock: Clock,
  ) {}

  /**
   * The account's bindings: the database's rows with this process's queued and in-flight changes
   * on top, so a read never waits for a flush and never misses a change not written yet.
   */
  async loadAccount(accountId: string, now: Date): Promise<Binding[]> {
    const rows = (await this.knex("sip_bindings")
      .where({ account_id: accountId })
      .andWhere("expires_at", ">", now)
      .orderBy("created_at")) as BindingRow[];
    const byContact = new Map(rows.map((row) => [row.contact, fromRow(row)]));
    // Oldest batch first, the queued one last: the last change of a binding wins.
    for (const batch of this.writing) layOver(byContact, batch.accounts.get(accountId));
    layOver(byContact, this.pending.accounts.get(accountId));
    return [...byContact.values()].filter((binding) => binding.expiresAt > now.getTime());
  }

  /** Queues changes; resolves once they are written when write-behind is off, at once otherwise. */
  write(upserts: readonly Binding[], deletes: readonly Binding[]): Promise<void> {
    for (const binding of deletes) this.pending.set({ op: "delete", binding });
    for (const binding of upserts) this.pending.set({ op: "upsert", binding });
    if (this.flushMs === 0) return this.flush();
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.flushMs);
    return Promise.resolve();
  }

  /**
   * Writes everything queued so far; one write at a time. What is queued while a write is under
   * way becomes the next batch when it is done, so a slow database makes batches larger, not
   * more numerous (a pile of in-flight batches made every read scan them all).
   */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.flushing = this.flushing.then(() => this.writePending());
    return this.flushing;
  }

  private async writePending(): Promise<void> {
    const batch = this.pending;
    if (batch.size === 0) return;
    this.pending = new Batch();
    this.writing.add(batch);
    try {
      await this.writeBatch(batch);
    } finally {
      this.writing.delete(batch);
    }
  }

  private async writeBatch(batch: Batch): Promise<void> {
    const now = this.clock.now();
    const upserts: BindingRow[] = [];
    const deletes: string[] = [];
    for (const changes of batch.accounts.values()) {
      for (const change of changes.values()) {
        if (change.op === "upsert") upserts.push(toRow(change.binding, now));
        else deletes.push(change.binding.id);
      }
    }
    try {
      await this.knex.transaction(async (trx) => {
        for (let i = 0; i < deletes.length; i += batchRows) {
          await trx("sip_bindings")
            .whereIn("id", deletes.slice(i, i + batchRows))
            .delete();
        }
        for (let i = 0; i < upserts.length; i += batchRows) {
          await trx("sip_bindings")
            .insert(upserts.slice(i, i + batchRows))
            .onConflict(["account_id", "contact"])
            .merge();
        }
      });
    } catch (error) {
      // An account deleted meanwhile (foreign key) or the database away: the cache still serves
      // this node, and clients re-register; log and go on.
      this.logger.warn({ err: error, bindings: batch.size }, "writing SIP bindings failed");
    }
  }

  /** Removes an account's bindings now (disable, delete, password change). */
  async deleteAccount(accountId: string): Promise<void> {
    this.pending.dropAccount(accountId);
    await this.flushing;
    await this.knex("sip_bindings").where({ account_id: accountId }).delete();
  }

  /** Removes the bindings of many accounts now (their organisation or group became inactive). */
  async deleteAccounts(accountIds: readonly string[]): Promise<void> {
    for (const accountId of accountIds) this.pending.dropAccount(accountId);
    await this.flushing;
    for (let i = 0; i < accountIds.length; i += 1000) {
      await this.knex("sip_bindings")
        .whereIn("account_id", accountIds.slice(i, i + 1000))
        .delete();
    }
  }

  /** Deletes the expired rows and says how many. */
  async purgeExpired(now: Date): Promise<number> {
    const deleted: unknown = await this.knex("sip_bindings").where("expires_at", "<=", now).delete();
    // pg gives the count; the embedded database's driver gives its result object instead.
    if (typeof deleted === "number") return deleted;
    return Number((deleted as { affectedRows?: number } | null)?.affectedRows ?? 0);
  }

  async close(): Promise<void> {
    await this.flush();
  }
}

function layOver(byContact: Map<string, Binding>, changes: Map<string, PendingWrite> | undefined): void {
  if (!changes) return;
  for (const change of changes.values()) {
    if (change.op === "upsert") byContact.set(change.binding.contact, change.binding);
    else byContact.delete(change.binding.contact);
  }
}

/**
 * The registrations an account's "refresh" shows: read from the database (not from this node's
 * cache), so any node's are there.
 */
export async function registrationsOf(
  knex: Knex,
  accountId: string,
  now: Date,
): Promise<Array<Record<string, unknown>>> {
  const rows = (await knex("sip_bindings")
    .where({ account_id: accountId })
    .andWhere("expires_at", ">", now)
    .orderBy("created_at")
    .select(
      "contact",
      "transport",
      "source_address",
      "source_port",
      "user_agent",
      "expires_at",
      "node_id",
      "connection_lost_at",
    )) as Array<{
    contact: string;
    transport: string;
    source_address: string;
    source_port: number;
    user_agent: string | null;
    expires_at: Date | string;
    node_id: string;
    connection_lost_at: Date | string | null;
  }>;
  return rows.map((row) => ({
    contact: row.contact,
    transport: row.transport,
    sourceAddress: row.source_address.includes(":")
      ? `[${row.source_address}]:${row.source_port}`
      : `${row.source_address}:${row.source_port}`,
    userAgent: row.user_agent,
    expiresAt: new Date(row.expires_at).toISOString(),
    node: row.node_id,
    // Connection transports only: whether the connection it came over is still there (a binding
    // whose connection closed is removed, unless sip.handleLostConnections is off).
    connection: row.transport === "udp" ? null : row.connection_lost_at === null ? "open" : "lost",
    ...(row.connection_lost_at === null
      ? {}
      : { connectionLostAt: new Date(row.connection_lost_at).toISOString() }),
  }));
}
