import type { Clock } from "../../src/clock.js";
import { type RunningServer, startServer } from "../../src/main.js";
import type { IssuedToken } from "../../src/tenancy/service.js";
import { testConfig } from "./config.js";
import { createTestDatabase, type TestDatabase } from "./database.js";
import { captureLogs } from "./logs.js";

export interface TestServer {
  server: RunningServer;
  url: string;
  db: TestDatabase;
  /** The token printed on first start. */
  operatorToken: string;
  logs: ReturnType<typeof captureLogs>;
  stop(): Promise<void>;
}

/** provisiond on a fresh test database, on an ephemeral loopback port. */
export async function startTestServer(
  options: { clock?: Clock; config?: Record<string, unknown> } = {},
): Promise<TestServer> {
  const db = await createTestDatabase({ migrated: false });
  const logs = captureLogs();
  let issued: IssuedToken | undefined;
  const server = await startServer({
    config: testConfig(options.config),
    logger: logs.logger,
    database: db.database,
    ...(options.clock ? { clock: options.clock } : {}),
    onInitialToken: (token) => {
      issued = token;
    },
  });
  if (!issued) throw new Error("a fresh database must yield the initial operator token");
  return {
    server,
    url: server.url,
    db,
    operatorToken: issued.token,
    logs,
    async stop() {
      await server.close();
      await db.destroy();
    },
  };
}
