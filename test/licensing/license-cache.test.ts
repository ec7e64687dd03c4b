import { describe, expect, it } from "vitest";
import {
  cacheKey,
  envelopeKey,
  LicenseMemoryCache,
  type SignedEnvelope,
} from "../../src/licensing/license-cache.js";
import type { LicenseCheck } from "../../src/licensing/store.js";

function check(licenseKey: string, fingerprint = "device-1"): LicenseCheck {
  return {
    licenseKey,
    fingerprint,
    accountId: null,
    valid: true,
    code: "VALID",
    detail: null,
    license: null,
    checkedAt: new Date("2026-01-01T00:00:00Z"),
    ttlSeconds: 3600,
    lastFailureAt: null,
    lastFailure: null,
  };
}

let signatures = 0;
function signed(text: string): () => SignedEnvelope {
  return () => {
    signatures += 1;
    return { body: Buffer.from(text), signature: `sig-${signatures}` };
  };
}

describe("license memory cache", () => {
  it("keeps answers per license key and device, apart from each other", () => {
    const cache = new LicenseMemoryCache();
    const a = cacheKey("KEY-1", "device-a");
    const b = cacheKey("KEY-1", "device-b");
    expect(a).not.toBe(b);
    cache.set(a, check("KEY-1", "device-a"));
    expect(cache.get(a)?.check.fingerprint).toBe("device-a");
    expect(cache.get(b)).toBeUndefined();
    // A key and fingerprint are never confused by where one ends and the other starts.
    expect(cacheKey("KEY-1x", "y")).not.toBe(cacheKey("KEY-1", "xy"));
  });

  it("drops the entry used longest ago when full; a hit counts as a use", () => {
    const cache = new LicenseMemoryCache(2);
    cache.set("a", check("A"));
    cache.set("b", check("B"));
    const a = cache.get("a");
    if (!a) throw new Error("a is cached");
    cache.touch("a", a);
    cache.set("c", check("C"));
    expect(cache.get("b")).toBeUndefined();
    expect(cache.get("a")?.check.licenseKey).toBe("A");
    expect(cache.get("c")?.check.licenseKey).toBe("C");
    cache.set("d", check("D"));
    expect(cache.get("a")).toBeUndefined();
    expect([cache.get("c"), cache.get("d")].map((e) => e?.check.licenseKey)).toEqual(["C", "D"]);
  });

  it("signs an envelope once per account, source and validity, and serves the same bytes after", () => {
    const cache = new LicenseMemoryCache();
    const entry = cache.set("k", check("K"));
    const before = signatures;
    const first = cache.envelope(entry, envelopeKey("acc-1", "cache", true), signed("one"));
    const again = cache.envelope(entry, envelopeKey("acc-1", "cache", true), signed("other"));
    expect(again).toBe(first);
    expect(again.body.toString()).toBe("one");
    expect(signatures - before).toBe(1);
    const stale = cache.envelope(entry, envelopeKey("acc-1", "stale", true), signed("stale"));
    const otherAccount = cache.envelope(entry, envelopeKey("acc-2", "cache", true), signed("acc-2"));
    expect([stale.body.toString(), otherAccount.body.toString()]).toEqual(["stale", "acc-2"]);
    expect(signatures - before).toBe(3);
  });

  it("a new answer for the same key replaces the old one and its signed envelopes", () => {
    const cache = new LicenseMemoryCache();
    const old = cache.set("k", check("K"));
    cache.envelope(old, envelopeKey("acc-1", "cache", true), signed("old answer"));
    const renewed = cache.set("k", { ...check("K"), valid: false, code: "EXPIRED" });
    expect(cache.get("k")?.check.code).toBe("EXPIRED");
    const envelope = cache.envelope(renewed, envelopeKey("acc-1", "cache", true), signed("new answer"));
    expect(envelope.body.toString()).toBe("new answer");
  });

  it("bounds the envelopes kept per answer, and still answers every one correctly", () => {
    const cache = new LicenseMemoryCache();
    const entry = cache.set("k", check("K"));
    for (let i = 0; i < 200; i++) {
      const key = envelopeKey(`acc-${i}`, "cache", true);
      expect(cache.envelope(entry, key, signed(`acc-${i}`)).body.toString()).toBe(`acc-${i}`);
    }
    expect(entry.envelopes.size).toBeLessThanOrEqual(64);
    expect(cache.envelope(entry, envelopeKey("acc-199", "cache", true), signed("x")).body.toString()).toBe(
      "acc-199",
    );
  });

  it("forgets everything on clear", () => {
    const cache = new LicenseMemoryCache();
    cache.set("a", check("A"));
    cache.set("b", check("B"));
    cache.clear();
    expect(cache.get("a")).toBeUndefined();
    expect(cache.get("b")).toBeUndefined();
  });
});
