import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { createLogger } from "../../src/logger.js";
import { type Binding, BindingStore } from "../../src/sip/binding-store.js";
import { Location } from "../../src/sip/location.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";

/**
 * The location cache and the binding store on the real sip_bindings table. The accounts the
 * bindings belong to are not what is tested: the foreign key to accounts is dropped in this
 * test's own database, so bindings can name any account id.
 */
let test: TestDatabase;
const logger = createLogger("silent");

beforeEach(async () => {
  test = await createTestDatabase();
  await test.database.knex.schema.alterTable("sip_bindings", (t) => t.dropForeign(["account_id"]));
});
afterEach(async () => {
  await test.destroy();
});

function binding(clock: ManualClock, accountId: string, contact: string, expiresInSeconds: number): Binding {
  return {
    id: randomUUID(),
    accountId,
    aor: `${contact}@example.com`,
    contact: `sip:${contact}@192.0.2.1:5060`,
    q: null,
    expiresAt: clock.now().getTime() + expiresInSeconds * 1000,
    callId: `call-${contact}`,
    cseq: 1,
    transport: "udp",
    sourceAddress: "192.0.2.1",
    sourcePort: 5060,
    localAddress: "127.0.0.1",
    localPort: 5060,
    flowId: null,
    nodeId: "test",
    userAgent: null,
    instanceId: null,
    connectionLostAt: null,
  };
}

const contacts = (bindings: Binding[]) => bindings.map((b) => b.contact).sort();

async function rowsOf(accountId: string): Promise<string[]> {
  const rows = (await test.database
    .knex("sip_bindings")
    .where({ account_id: accountId })
    .select("contact")) as Array<{
    contact: string;
  }>;
  return rows.map((row) => row.contact).sort();
}

describe("Location", () => {
  it("serves an account from its cache until the entry's time is up, then reads the database again", async () => {
    const clock = new ManualClock();
    const store = new BindingStore(test.database.knex, 0, logger, clock);
    // Another node writing to the same table.
    const otherNode = new BindingStore(test.database.knex, 0, logger, clock);
    const location = new Location(store, clock, 30_000);
    const account = randomUUID();
    const first = binding(clock, account, "first", 3600);
    await otherNode.write([first], []);

    expect(contacts(await location.bindingsOf(account))).toEqual([first.contact]);
    const second = binding(clock, account, "second", 3600);
    await otherNode.write([second], []);
    // A cache hit: the other node's new binding is not seen yet.
    clock.advance(20_000);
    expect(contacts(await location.bindingsOf(account))).toEqual([first.contact]);
    // Past the longest freshness (1.25 x the TTL) the entry is re-read.
    clock.advance(20_000);
    expect(contacts(await location.bindingsOf(account))).toEqual([first.contact, second.contact].sort());
  });

  it("leaves out bindings that expired while cached, by the clock", async () => {
    const clock = new ManualClock();
    const store = new BindingStore(test.database.knex, 0, logger, clock);
    const location = new Location(store, clock, 30_000);
    const account = randomUUID();
    const short = binding(clock, account, "short", 10);
    const long = binding(clock, account, "long", 3600);
    await location.update(account, [short, long], [short, long], []);
    expect(contacts(await location.bindingsOf(account))).toEqual([long.contact, short.contact].sort());
    clock.advance(10_000);
    expect(contacts(await location.bindingsOf(account))).toEqual([long.contact]);
  });

  it("writes what a REGISTER changed through to the table", async () => {
    const clock = new ManualClock();
    const store = new BindingStore(test.database.knex, 0, logger, clock);
    const location = new Location(store, clock);
    const account = randomUUID();
    const kept = binding(clock, account, "kept", 3600);
    const removed = binding(clock, account, "removed", 3600);
    await location.update(account, [kept, removed], [kept, removed], []);
    expect(await rowsOf(account)).toEqual([kept.contact, removed.contact].sort());
    await location.update(account, [kept], [], [removed]);
    expect(await rowsOf(account)).toEqual([kept.contact]);
    expect(contacts(await location.bindingsOf(account))).toEqual([kept.contact]);
  });

  it("drops every binding of an account from the cache, the queue and the table, and no other account's", async () => {
    const clock = new ManualClock();
    // Write-behind: changes wait in the queue until a flush.
    const store = new BindingStore(test.database.knex, 60_000, logger, clock);
    const location = new Location(store, clock);
    const dropped = randomUUID();
    const other = randomUUID();
    const written = binding(clock, dropped, "written", 3600);
    await location.update(dropped, [written], [written], []);
    await location.flush();
    const queued = binding(clock, dropped, "queued", 3600);
    await location.update(dropped, [written, queued], [queued], []);
    const others = binding(clock, other, "other", 3600);
    await location.update(other, [others], [others], []);

    await location.dropAccount(dropped);
    expect(await location.bindingsOf(dropped)).toEqual([]);
    await location.flush();
    expect(await rowsOf(dropped)).toEqual([]);
    expect(contacts(await location.bindingsOf(other))).toEqual([others.contact]);
    expect(await rowsOf(other)).toEqual([others.contact]);
    await store.close();
  });

  it("purges expired bindings from the cache and the table, keeping the live ones", async () => {
    const clock = new ManualClock();
    const store = new BindingStore(test.database.knex, 60_000, logger, clock);
    const location = new Location(store, clock);
    const mixed = randomUUID();
    const gone = randomUUID();
    const live = binding(clock, mixed, "live", 3600);
    const expiring = binding(clock, mixed, "expiring", 30);
    const onlyExpiring = binding(clock, gone, "only", 30);
    await location.update(mixed, [live, expiring], [live, expiring], []);
    await location.update(gone, [onlyExpiring], [onlyExpiring], []);
    clock.advance(31_000);

    // The queued writes are flushed first, then the two expired rows removed.
    expect(await location.purgeExpired()).toBe(2);
    expect(await rowsOf(mixed)).toEqual([live.contact]);
    expect(await rowsOf(gone)).toEqual([]);
    expect(contacts(await location.bindingsOf(mixed))).toEqual([live.contact]);
    expect(await location.bindingsOf(gone)).toEqual([]);
    await store.close();
  });
});

describe("BindingStore", () => {
  it("lays the account's queued and in-flight changes over its rows, last change winning, and only that account's", async () => {
    const clock = new ManualClock();
    const store = new BindingStore(test.database.knex, 60_000, logger, clock);
    const account = randomUUID();
    const other = randomUUID();
    const row = binding(clock, account, "row", 3600);
    const deletedRow = binding(clock, account, "deleted-row", 3600);
    await store.write([row, deletedRow], []);
    await store.flush();

    const refreshed = { ...row, cseq: 2, expiresAt: row.expiresAt + 60_000 };
    const added = binding(clock, account, "added", 3600);
    const addedThenDeleted = binding(clock, account, "added-then-deleted", 3600);
    await store.write([refreshed, added, addedThenDeleted], [deletedRow]);
    await store.write([], [addedThenDeleted]);
    await store.write([binding(clock, other, "other", 3600)], []);

    const loaded = await store.loadAccount(account, clock.now());
    expect(contacts(loaded)).toEqual([added.contact, row.contact].sort());
    expect(loaded.find((b) => b.contact === row.contact)?.cseq).toBe(2);
    expect(contacts(await store.loadAccount(other, clock.now()))).toEqual([
      binding(clock, other, "other", 1).contact,
    ]);

    await store.flush();
    expect(await rowsOf(account)).toEqual([added.contact, row.contact].sort());
    const stored = await store.loadAccount(account, clock.now());
    expect(stored.find((b) => b.contact === row.contact)?.cseq).toBe(2);
  });

  it("stamps written rows with the injected clock", async () => {
    const clock = new ManualClock(new Date("2030-05-01T12:00:00Z"));
    const store = new BindingStore(test.database.knex, 0, logger, clock);
    const account = randomUUID();
    await store.write([binding(clock, account, "stamped", 3600)], []);
    const row = (await test.database.knex("sip_bindings").where({ account_id: account }).first()) as {
      updated_at: Date | string;
    };
    expect(new Date(row.updated_at).toISOString()).toBe("2030-05-01T12:00:00.000Z");
  });
});
