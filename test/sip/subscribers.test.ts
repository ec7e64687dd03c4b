import { describe, expect, it } from "vitest";
import type { SipSubscriber } from "../../src/accounts/service.js";
import { ManualClock } from "../../src/clock.js";
import { SubscriberDirectory } from "../../src/sip/subscribers.js";

function subscriber(ha1: string): SipSubscriber {
  return {
    accountId: "a1",
    groupId: "g1",
    username: "1001",
    sipDomain: "example.org",
    status: "active",
    disabledReason: null,
    ha1Md5: ha1,
    ha1Sha256: null,
  };
}

describe("subscriber cache", () => {
  it("serves from memory, refreshes in the background a little past freshness, waits when long expired", async () => {
    const clock = new ManualClock();
    let current = subscriber("old");
    let lookups = 0;
    const directory = new SubscriberDirectory(
      async () => {
        lookups++;
        return current;
      },
      clock,
      60_000,
    );
    expect((await directory.get("1001", "Example.org"))?.ha1Md5).toBe("old");
    expect((await directory.get("1001", "example.org"))?.ha1Md5).toBe("old");
    expect(lookups).toBe(1);
    current = subscriber("new");
    clock.advance(80_000); // past freshness (45 to 75 s), within the grace
    expect((await directory.get("1001", "example.org"))?.ha1Md5).toBe("old");
    await new Promise((resolve) => setImmediate(resolve));
    expect(lookups).toBe(2);
    expect((await directory.get("1001", "example.org"))?.ha1Md5).toBe("new");
    current = subscriber("newer");
    clock.advance(200_000); // long expired: the lookup is awaited
    expect((await directory.get("1001", "example.org"))?.ha1Md5).toBe("newer");
  });

  it("forgets an account at once when told, and an unknown name once it is created", async () => {
    const clock = new ManualClock();
    let current: SipSubscriber | null = subscriber("old");
    const directory = new SubscriberDirectory(async () => current, clock, 60_000);
    await directory.get("1001", "example.org");
    current = subscriber("changed");
    directory.forgetAccount("a1");
    expect((await directory.get("1001", "example.org"))?.ha1Md5).toBe("changed");
    current = null;
    directory.forgetAccount("a1");
    expect(await directory.get("1001", "example.org")).toBeNull();
    current = subscriber("created");
    // The account.created event of the new account (src/sip/setup.ts).
    directory.forgetName("1001", "example.org");
    expect((await directory.get("1001", "example.org"))?.ha1Md5).toBe("created");
  });

  it("keeps unknown names too, so that guessing a name costs no database lookup", async () => {
    const clock = new ManualClock();
    let lookups = 0;
    const directory = new SubscriberDirectory(
      async (username) => {
        lookups++;
        return username === "1001" ? subscriber("known") : null;
      },
      clock,
      60_000,
    );
    await directory.get("1001", "example.org");
    await directory.get("9999", "example.org");
    expect(lookups).toBe(2);
    for (let i = 0; i < 5; i++) {
      expect(await directory.get("9999", "example.org")).toBeNull();
      expect((await directory.get("1001", "example.org"))?.ha1Md5).toBe("known");
    }
    // Unknown and known names alike cost no lookup while fresh.
    expect(lookups).toBe(2);
  });
});
