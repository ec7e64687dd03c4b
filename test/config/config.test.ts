import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/load.js";

function configDir(files: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), "provisiond-config-"));
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(join(dir, name), typeof content === "string" ? content : JSON.stringify(content));
  }
  return dir;
}

function problemsOf(load: () => unknown): string[] {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error("expected the configuration to be refused");
}

describe("configuration", () => {
  it("runs on the embedded defaults with no environment at all", () => {
    const config = loadConfig({ env: {} });
    expect(config.http).toMatchObject({ host: "127.0.0.1", port: 8080 });
    expect(config.database).toMatchObject({ url: null, dataDir: "./data" });
    expect(config.redis.url).toBeNull();
    expect(config.log.level).toBe("info");
  });

  it("layers config/<NODE_ENV>.json over the defaults", () => {
    expect(loadConfig({ env: { NODE_ENV: "test" } }).log.level).toBe("silent");
    expect(loadConfig({ env: { NODE_ENV: "production" } }).http.host).toBe("0.0.0.0");
  });

  it("takes environment variables over the files", () => {
    const config = loadConfig({
      env: {
        NODE_ENV: "production",
        DATABASE_URL: "postgres://app@127.0.0.1:5432/provisiond",
        REDIS_URL: "redis://127.0.0.1:6379",
        PROVISIOND_DATA_DIR: "/var/lib/provisiond",
        PROVISIOND_HTTP_HOST: "::1",
        PROVISIOND_HTTP_PORT: "9090",
        PROVISIOND_LOG_LEVEL: "debug",
      },
    });
    expect(config.database.url).toBe("postgres://app@127.0.0.1:5432/provisiond");
    expect(config.redis.url).toBe("redis://127.0.0.1:6379");
    expect(config.database.dataDir).toBe("/var/lib/provisiond");
    expect(config.http).toMatchObject({ host: "::1", port: 9090 });
    expect(config.log.level).toBe("debug");
  });

  it("treats an empty variable as unset", () => {
    expect(loadConfig({ env: { DATABASE_URL: "", PROVISIOND_HTTP_PORT: "" } })).toMatchObject({
      database: { url: null },
      http: { port: 8080 },
    });
  });

  it("names the key and the variable of a bad value", () => {
    const problems = problemsOf(() => loadConfig({ env: { PROVISIOND_HTTP_PORT: "eighty" } }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^http\.port \(from PROVISIOND_HTTP_PORT\): /);
  });

  it("reports every bad value at once", () => {
    const problems = problemsOf(() =>
      loadConfig({
        env: { PROVISIOND_HTTP_PORT: "70000", DATABASE_URL: "mysql://x", PROVISIOND_LOG_LEVEL: "loud" },
      }),
    );
    expect(problems.map((p) => p.split(" ")[0]).sort()).toEqual(["database.url", "http.port", "log.level"]);
    expect(problems.join("\n")).toContain("postgres://");
  });

  it("refuses unknown keys in a file, naming them", () => {
    const dir = configDir({
      "default.json": JSON.parse(
        JSON.stringify(loadConfig({ env: {} })).replace('"port":8080', '"port":8080,"prot":1'),
      ),
    });
    const problems = problemsOf(() => loadConfig({ env: {}, configDir: dir }));
    expect(problems.join("\n")).toContain("http.prot");
  });

  it("durations name their unit: windows and cache lifetimes in seconds, old millisecond keys refused by name", () => {
    const config = loadConfig({ env: { PROVISIOND_AUTH_FAILURE_WINDOW_SECONDS: "120" } });
    expect(config.http.authFailureWindowSeconds).toBe(120);
    expect(config.license).toMatchObject({ breakerResetSeconds: 30, accountCacheSeconds: 5 });
    const defaults = loadConfig({ env: {} });
    const dir = configDir({
      "default.json": {
        ...defaults,
        http: { ...defaults.http, authFailureWindowMs: 300_000 },
        license: { ...defaults.license, breakerResetMs: 30_000 },
      },
    });
    const problems = problemsOf(() => loadConfig({ env: {}, configDir: dir })).join("\n");
    expect(problems).toContain("http.authFailureWindowMs");
    expect(problems).toContain("license.breakerResetMs");
  });

  it("names a configuration file that is not valid JSON", () => {
    const dir = configDir({ "default.json": "{ not json" });
    const problems = problemsOf(() => loadConfig({ env: {}, configDir: dir }));
    expect(problems[0]).toContain(join(dir, "default.json"));
  });

  it("refuses a NODE_ENV that could name a file outside the folder", () => {
    const problems = problemsOf(() => loadConfig({ env: { NODE_ENV: "../etc/passwd" } }));
    expect(problems[0]).toMatch(/^NODE_ENV/);
  });
});
