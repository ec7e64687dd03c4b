import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.js";
import type { Config } from "../../src/config/schema.js";

/**
 * The configuration a test server runs with: defaults, config/test.json, an ephemeral port, and a
 * fresh directory for the CA (so a test never writes into the repository's ./data).
 */
export function testConfig(overrides: Record<string, unknown> = {}): Config {
  return loadConfig({
    env: { NODE_ENV: "test" },
    overrides: {
      http: { host: "127.0.0.1", port: 0 },
      pki: { dir: mkdtempSync(join(tmpdir(), "provisiond-pki-")) },
      ...overrides,
    },
  });
}
