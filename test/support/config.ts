import { loadConfig } from "../../src/config/load.js";
import type { Config } from "../../src/config/schema.js";

/** The configuration a test server runs with: defaults, config/test.json, an ephemeral port. */
export function testConfig(overrides: Record<string, unknown> = {}): Config {
  return loadConfig({
    env: { NODE_ENV: "test" },
    overrides: { http: { host: "127.0.0.1", port: 0 }, ...overrides },
  });
}
