import { describe, expect, it } from "vitest";
import { Lifecycle } from "../src/lifecycle.js";

describe("Lifecycle", () => {
  it("closes in reverse order of opening, once", async () => {
    const closed: string[] = [];
    const lifecycle = new Lifecycle();
    lifecycle.defer("database", () => void closed.push("database"));
    const port = await lifecycle.open(
      "http",
      async () => 8080,
      (value) => void closed.push(`http:${value}`),
    );
    lifecycle.defer("sip", async () => void closed.push("sip"));
    expect(port).toBe(8080);
    await Promise.all([lifecycle.close(), lifecycle.close()]);
    await lifecycle.close();
    expect(closed).toEqual(["sip", "http:8080", "database"]);
  });

  it("a start that fails half-way closes what it opened and rethrows its own error", async () => {
    const closed: string[] = [];
    const lifecycle = new Lifecycle();
    await expect(
      lifecycle.start(async (lc) => {
        lc.defer("database", () => void closed.push("database"));
        await lc.open(
          "listener",
          () => {
            throw new Error("port in use");
          },
          () => void closed.push("listener"),
        );
        lc.defer("never", () => void closed.push("never"));
      }),
    ).rejects.toThrow("port in use");
    expect(closed).toEqual(["database"]);
  });

  it("goes on closing past a failing step and rethrows the first failure", async () => {
    const closed: string[] = [];
    const lifecycle = new Lifecycle();
    lifecycle.defer("a", () => void closed.push("a"));
    lifecycle.defer("b", () => {
      throw new Error("b broke");
    });
    lifecycle.defer("c", () => void closed.push("c"));
    await expect(lifecycle.close()).rejects.toThrow("b broke");
    expect(closed).toEqual(["c", "a"]);
  });

  it("refuses registrations once closing", async () => {
    const lifecycle = new Lifecycle();
    await lifecycle.close();
    expect(() => lifecycle.defer("late", () => {})).toThrow(/closing/);
  });
});
