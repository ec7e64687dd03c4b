import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Tests that spawn the CLI read the database location from the environment they pass on.
    env: { NODE_ENV: "test" },
  },
});
