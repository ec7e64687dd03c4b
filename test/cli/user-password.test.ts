import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { listeningUrl, runCli } from "../support/cli.js";
import { createTestDatabase, databaseKind, type TestDatabase } from "../support/database.js";

interface ProcessDatabase {
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

async function processDatabase(): Promise<ProcessDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), "provisiond-cli-"));
  if (databaseKind === "pglite") return { env: { PROVISIOND_DATA_DIR: dataDir }, cleanup: async () => {} };
  const test: TestDatabase = await createTestDatabase({ migrated: false });
  await test.database.close();
  return {
    env: { DATABASE_URL: test.url as string, PROVISIOND_DATA_DIR: dataDir },
    cleanup: () => test.destroy(),
  };
}

const signInStatus = async (url: string, email: string, password: string) =>
  (
    await fetch(`${url}/api/v1/sessions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password }),
    })
  ).status;

describe(`signing in to the console from a fresh install, on ${databaseKind}`, { timeout: 480_000 }, () => {
  let db: ProcessDatabase;
  beforeEach(async () => {
    db = await processDatabase();
  });
  afterEach(async () => {
    await db.cleanup();
  });

  it("prints a one-time password link on first start; `user password` sets one from standard input", async () => {
    const first = runCli(["serve"], { ...db.env, PROVISIOND_HTTP_PORT: "0" });
    const url = await listeningUrl(first, 120_000);
    const link = new RegExp(
      `^ {4}(${url.replace(/[.]/g, "\\.")}/console/password/([A-Za-z0-9_-]{43}))$`,
      "m",
    ).exec(first.stdout());
    expect(link, first.stdout()).not.toBeNull();
    expect(first.stdout()).toContain("provisiond user password --email operator@localhost");
    const set = await fetch(`${url}/api/v1/password-reset/${link?.[2]}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ password: "the operator's first password" }),
    });
    expect(set.status).toBe(204);
    expect(await signInStatus(url, "operator@localhost", "the operator's first password")).toBe(201);
    first.child.kill("SIGTERM");
    expect(await first.exited).toBe(0);

    const change = runCli(["user", "password", "--email", "Operator@Localhost"], db.env, {
      stdin: "the operator's way back in\nignored second line\n",
    });
    expect(await change.exited, change.stderr()).toBe(0);
    expect(change.stderr()).toContain("password set for Operator@Localhost");

    const unknown = runCli(["user", "password", "--email", "nobody@example.com"], db.env, {
      stdin: "a long enough password\n",
    });
    expect(await unknown.exited).toBe(1);
    expect(unknown.stderr()).toContain("no user with the e-mail nobody@example.com");
    expect(unknown.stderr()).not.toMatch(/\bat \S+\.ts:\d+/);

    const short = runCli(["user", "password", "--email", "operator@localhost"], db.env, { stdin: "short\n" });
    expect(await short.exited).toBe(1);
    expect(short.stderr()).toContain("must be at least 12 characters");

    const second = runCli(["serve"], { ...db.env, PROVISIOND_HTTP_PORT: "0" });
    const again = await listeningUrl(second, 120_000);
    expect(second.stdout()).not.toContain("/console/password/");
    expect(await signInStatus(again, "operator@localhost", "the operator's first password")).toBe(401);
    expect(await signInStatus(again, "operator@localhost", "the operator's way back in")).toBe(201);
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  });
});
