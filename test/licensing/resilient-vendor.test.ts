import { Registry } from "prom-client";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { type BreakerState, CircuitBreaker } from "../../src/licensing/circuit-breaker.js";
import { createLicenseMetrics } from "../../src/licensing/metrics.js";
import { ResilientVendor } from "../../src/licensing/resilient-vendor.js";
import { parseEd25519PublicKey } from "../../src/licensing/signatures.js";
import { HttpLicenseVendor, VendorFailure } from "../../src/licensing/vendor-client.js";
import { captureLogs } from "../support/logs.js";
import { VendorSimulator } from "./vendor-simulator.js";

const request = { licenseKey: "LIC-RESILIENT-1", fingerprint: "device-1" };
const clock = new ManualClock();
const simulator = new VendorSimulator(() => clock.now());

beforeAll(() => simulator.start());
afterAll(() => simulator.stop());
beforeEach(async () => {
  await simulator.start();
  simulator.behaviour = "valid";
  simulator.upcoming.length = 0;
  simulator.requests.length = 0;
  simulator.slowMs = 1000;
});

function resilient(
  options: { retries?: number; retryBackoffMs?: number; failureThreshold?: number; vendorUrl?: string } = {},
) {
  const registry = new Registry();
  const logs = captureLogs();
  const states: BreakerState[] = [];
  const breaker = new CircuitBreaker(
    { failureThreshold: options.failureThreshold ?? 100, resetMs: 30_000 },
    clock,
    (state) => states.push(state),
  );
  const http = new HttpLicenseVendor({
    vendorUrl: options.vendorUrl ?? simulator.url,
    vendorPublicKey: parseEd25519PublicKey(simulator.publicKeyPem),
    // Well under the simulator's slow answers (slowMs), yet not so short that a loaded machine's
    // first request counts as a timeout.
    timeoutMs: 500,
    maxClockSkewSeconds: 300,
    clock,
  });
  const vendor = new ResilientVendor(
    http,
    breaker,
    { retries: options.retries ?? 2, retryBackoffMs: options.retryBackoffMs ?? 5 },
    createLicenseMetrics(registry),
    logs.logger,
  );
  const attempts = async (outcome: string): Promise<number> => {
    const text = await registry.metrics();
    const match = new RegExp(
      `provisiond_license_vendor_request_duration_seconds_count\\{outcome="${outcome}"\\} (\\d+)`,
    ).exec(text);
    return match ? Number(match[1]) : 0;
  };
  return { vendor, breaker, states, logs, attempts };
}

async function failure(promise: Promise<unknown>): Promise<VendorFailure> {
  const error = await promise.then(
    () => {
      throw new Error("expected the vendor call to fail");
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(VendorFailure);
  return error as VendorFailure;
}

describe("resilient vendor client", () => {
  it("answers with the vendor's verified answer on the first try", async () => {
    const { vendor, attempts } = resilient();
    const { answer } = await vendor.validate(request);
    expect(answer.valid).toBe(true);
    expect(answer.license?.key).toBe(request.licenseKey);
    expect(simulator.requests.length).toBe(1);
    expect(await attempts("ok")).toBe(1);
    expect(vendor.url).toBe(simulator.url);
  });

  it("retries a 5xx answer and returns the answer of the attempt that works", async () => {
    const { vendor, attempts, logs } = resilient({ retries: 2 });
    simulator.upcoming.push("error500", "error500");
    const { answer } = await vendor.validate(request);
    expect(answer.valid).toBe(true);
    expect(simulator.requests.length).toBe(3);
    expect(await attempts("server-error")).toBe(2);
    expect(await attempts("ok")).toBe(1);
    const warnings = logs.lines().filter((line) => line.msg === "license vendor call failed");
    expect(warnings.map((line) => [line.attempt, line.failure])).toEqual([
      [1, "server-error"],
      [2, "server-error"],
    ]);
  });

  it("gives up after the configured retries with the last failure", async () => {
    const { vendor } = resilient({ retries: 2 });
    simulator.behaviour = "error500";
    const error = await failure(vendor.validate(request));
    expect(error.kind).toBe("server-error");
    expect(error.message).toContain("500");
    expect(simulator.requests.length).toBe(3);
  });

  it("waits longer before each retry (exponential backoff)", async () => {
    const { vendor } = resilient({ retries: 2, retryBackoffMs: 60 });
    simulator.behaviour = "error500";
    const started = performance.now();
    await failure(vendor.validate(request));
    // At least half of 60 ms before the second attempt and half of 120 ms before the third.
    expect(performance.now() - started).toBeGreaterThanOrEqual(85);
  });

  it("retries a timeout", async () => {
    const { vendor, attempts } = resilient({ retries: 1 });
    simulator.slowMs = 1000;
    simulator.upcoming.push("slow");
    const { answer } = await vendor.validate(request);
    expect(answer.valid).toBe(true);
    expect(await attempts("timeout")).toBe(1);
    expect(await attempts("ok")).toBe(1);
  });

  it("retries when the vendor cannot be reached, and fails as unreachable", async () => {
    const { vendor, attempts } = resilient({ retries: 2 });
    await simulator.stop();
    const error = await failure(vendor.validate(request));
    expect(error.kind).toBe("unreachable");
    expect(await attempts("unreachable")).toBe(3);
  });

  it("does not retry a 4xx answer", async () => {
    const { vendor } = resilient({ retries: 3, vendorUrl: `${simulator.url}/elsewhere` });
    const error = await failure(vendor.validate(request));
    expect(error.kind).toBe("refused");
    expect(error.message).toContain("404");
    expect(simulator.requests.length).toBe(1);
  });

  it("does not retry an answer whose signature does not verify", async () => {
    const { vendor, attempts } = resilient({ retries: 3 });
    simulator.behaviour = "badSignature";
    const error = await failure(vendor.validate(request));
    expect(error.kind).toBe("bad-signature");
    expect(simulator.requests.length).toBe(1);
    expect(await attempts("bad-signature")).toBe(1);
  });

  it("opens the breaker after repeated failures and stops calling the vendor until it resets", async () => {
    const { vendor, breaker, states } = resilient({ retries: 0, failureThreshold: 2 });
    simulator.behaviour = "error500";
    await failure(vendor.validate(request));
    await failure(vendor.validate(request));
    expect(breaker.state).toBe("open");
    expect(states).toEqual(["open"]);
    const calls = simulator.requests.length;

    const paused = await failure(vendor.validate(request));
    expect(paused.kind).toBe("unreachable");
    expect(paused.message).toContain(`paused until ${breaker.retryAt?.toISOString()}`);
    expect(simulator.requests.length).toBe(calls);

    // After resetMs one trial goes out; it works, so the breaker closes.
    clock.advance(30_000);
    simulator.behaviour = "valid";
    const { answer } = await vendor.validate(request);
    expect(answer.valid).toBe(true);
    expect(simulator.requests.length).toBe(calls + 1);
    expect(breaker.state).toBe("closed");
    expect(states).toEqual(["open", "half-open", "closed"]);
  });

  it("stops retrying once the breaker opens and answers the failure the vendor gave", async () => {
    const { vendor, breaker } = resilient({ retries: 5, failureThreshold: 2 });
    simulator.behaviour = "error500";
    const error = await failure(vendor.validate(request));
    expect(error.kind).toBe("server-error");
    expect(simulator.requests.length).toBe(2);
    expect(breaker.state).toBe("open");
  });

  it("a failed trial in half-open reopens the breaker without retrying", async () => {
    const { vendor, breaker, states } = resilient({ retries: 3, failureThreshold: 1 });
    simulator.behaviour = "error500";
    await failure(vendor.validate(request));
    clock.advance(30_000);
    const calls = simulator.requests.length;
    const error = await failure(vendor.validate(request));
    expect(error.kind).toBe("server-error");
    expect(simulator.requests.length).toBe(calls + 1);
    expect(breaker.state).toBe("open");
    expect(states).toEqual(["open", "half-open", "open"]);
  });
});
