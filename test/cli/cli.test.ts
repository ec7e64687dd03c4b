import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { listeningUrl, runCli } from "../support/cli.js";
import { createTestDatabase, databaseKind, type TestDatabase } from "../support/database.js";

/** The database the spawned process uses: a fresh data directory, or a fresh PostgreSQL database. */
interface ProcessDatabase {
  env: Record<string, string>;
  dataDir: string;
  cleanup(): Promise<void>;
}

async function processDatabase(): Promise<ProcessDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), "provisiond-cli-"));
  if (databaseKind === "pglite")
    return { env: { PROVISIOND_DATA_DIR: dataDir }, dataDir, cleanup: async () => {} };
  const test: TestDatabase = await createTestDatabase({ migrated: false });
  await test.database.close();
  return {
    env: { DATABASE_URL: test.url as string, PROVISIOND_DATA_DIR: dataDir },
    dataDir,
    cleanup: () => test.destroy(),
  };
}

// Each test starts real server processes (a first start runs initdb in a child); a loaded machine needs the time.
describe(`the provisiond command on ${databaseKind}`, { timeout: 90_000 }, () => {
  let db: ProcessDatabase;
  beforeEach(async () => {
    db = await processDatabase();
  });
  afterEach(async () => {
    await db.cleanup();
  });

  it("refuses a bad configuration value, naming the key, with a non-zero exit", async () => {
    const run = runCli(["serve"], { ...db.env, PROVISIOND_HTTP_PORT: "eighty" });
    expect(await run.exited).toBe(78);
    expect(run.stderr()).toContain("http.port (from PROVISIOND_HTTP_PORT)");
    expect(run.stdout()).toBe("");
  });

  it("starts, prints the operator token once, serves, and exits 0 on SIGTERM", async () => {
    const run = runCli(["serve"], { ...db.env, PROVISIOND_HTTP_PORT: "0" });
    const url = await listeningUrl(run);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const token = /^ {4}(pvd_\S+)$/m.exec(run.stdout())?.[1];
    expect(token).toBeDefined();
    expect(run.stdout()).toContain(`curl -H "Authorization: Bearer ${token}" ${url}/api/v1/me`);
    const me = await fetch(`${url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    if (databaseKind === "pglite") {
      // initdb's WebAssembly memory (about 700 MiB) must not stay with the server after its first
      // start; with the sources compiled by tsx the server idles near 350 MiB.
      const rssMiB =
        Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${run.child.pid}/status`, "utf8"))?.[1]) / 1024;
      expect(rssMiB).toBeLessThan(450);
    }

    run.child.kill("SIGTERM");
    expect(await run.exited).toBe(0);
    expect(run.stdout()).toContain('"msg":"shut down"');
    if (databaseKind === "pglite") expect(existsSync(join(db.dataDir, "provisiond.pid"))).toBe(false);

    // The second start finds the operator and prints no token.
    const again = runCli(["serve"], { ...db.env, PROVISIOND_HTTP_PORT: "0" });
    await listeningUrl(again);
    again.child.kill("SIGINT");
    expect(await again.exited).toBe(0);
    expect(again.stdout()).not.toContain("pvd_");
  });

  it("creates a token that is printed alone on stdout and works on the API", async () => {
    const create = runCli(["token", "create", "--role", "operator", "--name", "ci"], db.env);
    expect(await create.exited).toBe(0);
    const lines = create.stdout().split("\n").filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^pvd_[A-Za-z0-9_-]{43}$/);

    const serve = runCli(["serve"], { ...db.env, PROVISIOND_HTTP_PORT: "0" });
    const url = await listeningUrl(serve);
    expect(serve.stdout()).not.toContain("first start");
    const me = await fetch(`${url}/api/v1/me`, { headers: { authorization: `Bearer ${lines[0]}` } });
    expect(me.status).toBe(200);
    serve.child.kill("SIGTERM");
    expect(await serve.exited).toBe(0);

    const badRole = runCli(["token", "create", "--role", "king"], db.env);
    expect(await badRole.exited).not.toBe(0);
    expect(badRole.stdout()).toBe("");
    expect(badRole.stderr()).toContain("king");
  });

  it("applies and reverts migrations on demand", async () => {
    const up = runCli(["migrate"], db.env);
    expect(await up.exited).toBe(0);
    expect(up.stdout()).toMatch(/^applied: \d{14}_tenancy/);
    const again = runCli(["migrate"], db.env);
    expect(await again.exited).toBe(0);
    expect(again.stdout()).toMatch(/^nothing to do/);
    const down = runCli(["migrate", "--rollback", "--all"], db.env);
    expect(await down.exited).toBe(0);
    expect(down.stdout()).toMatch(/^reverted: /);
  });

  it.runIf(databaseKind === "pglite")(
    "token create while the server runs says to use POST /api/v1/tokens instead, without a stack trace",
    async () => {
      const server = runCli(["serve"], { ...db.env, PROVISIOND_HTTP_PORT: "0" });
      const url = await listeningUrl(server);
      const create = runCli(["token", "create", "--role", "operator", "--name", "ci"], {
        ...db.env,
        PROVISIOND_HTTP_PORT: "8085",
      });
      expect(await create.exited).toBe(1);
      expect(create.stdout()).toBe("");
      const said = create.stderr();
      expect(said).toContain(`a server (process ${server.child.pid}) is running on the embedded database`);
      expect(said).toContain('-d \'{"role":"operator","name":"ci"}\' http://127.0.0.1:8085/api/v1/tokens');
      expect(said).not.toMatch(/\n\s+at /);
      expect(said).not.toContain('"level"');
      // What it says works against the running server.
      const operatorToken = /^ {4}(pvd_\S+)$/m.exec(server.stdout())?.[1];
      const token = await fetch(`${url}/api/v1/tokens`, {
        method: "POST",
        headers: { authorization: `Bearer ${operatorToken}`, "content-type": "application/json" },
        body: JSON.stringify({ role: "operator", name: "ci" }),
      });
      expect(token.status).toBe(201);
      server.child.kill("SIGTERM");
      expect(await server.exited).toBe(0);
    },
  );

  it.runIf(databaseKind === "pglite")("refuses a second process on the same embedded database", async () => {
    const first = runCli(["serve"], { ...db.env, PROVISIOND_HTTP_PORT: "0" });
    await listeningUrl(first);
    const second = runCli(["migrate"], db.env);
    expect(await second.exited).toBe(1);
    expect(second.stderr()).toContain(`is in use by process ${first.child.pid}`);
    first.child.kill("SIGTERM");
    expect(await first.exited).toBe(0);
  });
});
