import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { Outbox } from "../../src/messaging/outbox.js";
import { outboxStore } from "../../src/messaging/outbox-store.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";

describe("the outbox", () => {
  let test: TestDatabase;
  const clock = new ManualClock(new Date("2026-12-02T10:00:00Z"));
  const outbox = new Outbox(clock);
  const accountId = "6f1c1f3e-5a4e-4d0e-9c39-2f3b5e1f0a11";

  beforeEach(async () => {
    test = await createTestDatabase();
  });
  afterEach(() => test.destroy());

  it("keeps a message exactly when the action's transaction commits", async () => {
    const knex = test.database.knex;
    await knex.transaction((trx) =>
      outbox.enqueue(trx, { channel: "sms", kind: "installation_sms", recipient: "+41791234567", accountId }),
    );
    await expect(
      knex.transaction(async (trx) => {
        await outbox.enqueue(trx, {
          channel: "sms",
          kind: "activation_sms",
          recipient: "+41791234567",
          accountId,
        });
        throw new Error("the action failed after writing its message");
      }),
    ).rejects.toThrow("the action failed");

    const rows = await outboxStore.byAccount(knex, accountId, 10);
    expect(rows.map((r) => [r.kind, r.status, r.attempts])).toEqual([["installation_sms", "queued", 0]]);
    expect(rows[0]?.idempotency_key).toBe(rows[0]?.id);
    expect(new Date(rows[0]?.next_attempt_at as Date).toISOString()).toBe("2026-12-02T10:00:00.000Z");
  });
});
