import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SipTestServer, startSipTestServer } from "./support/accounts.js";
import { pause, SippCalls, scenarioExpecting } from "./support/calls.js";
import { realPeerGate } from "./support/tools.js";

/** Real-peer tests: sipp callers and callees calling each other through provisiond's router. */
const gate = realPeerGate("sipp");

describe.skipIf(gate.skip)("sipp calls through the router", () => {
  let server: SipTestServer;
  let sipp: SippCalls;
  const ids = new Map<string, string>();
  const password = (username: string) => `password-${username}`;
  const id = (username: string) => ids.get(username) as string;

  beforeAll(async () => {
    server = await startSipTestServer({
      sip: {
        // sipp 3.6 answers only the first challenge and knows only MD5.
        digestAlgorithms: "MD5,SHA-256",
        ringTimeoutSeconds: 3,
        cdrFlushMs: 0,
        announcementsDir: mkdtempSync(join(tmpdir(), "announcements-")),
      },
    });
    sipp = new SippCalls(server, password);
    for (let i = 0; i < 30; i++) {
      const username = String(3000 + i);
      ids.set(username, await server.createAccount(username, password(username)));
    }
    for (const username of ["3990", "3991"]) {
      ids.set(username, await server.createAccount(username, password(username)));
      await server.api.ok("POST", `/api/v1/accounts/${id(username)}/disable`, { reason: "unpaid" }, 200);
    }
  });

  afterAll(async () => {
    await server?.stop();
  });

  const expectOk = (result: { failed: number; successful: number; output: string }, label: string) => {
    expect(result.failed, `${label}\n${result.output}`).toBe(0);
    expect(result.successful, `${label}\n${result.output}`).toBe(1);
  };

  it("connects a call, and the caller's BYE ends it", async () => {
    const port = await sipp.registerCallee("3001");
    const callee = sipp.callee("uas_answer.xml", port);
    await pause(300);
    const caller = await sipp.call("call.xml", "3000", "3001");
    expectOk(caller, "caller");
    expectOk(await callee, "callee");
    const [cdr] = await sipp.cdrsOf(id("3000"));
    expect(cdr).toMatchObject({
      caller: "3000@127.0.0.1",
      callee: "3001@127.0.0.1",
      status: "answered",
      sipStatus: 200,
      endedBy: "caller",
      announcement: null,
    });
    expect(cdr?.answeredAt).not.toBeNull();
    expect(cdr?.endedAt).not.toBeNull();
    expect(await sipp.cdrsOf(id("3001"))).toHaveLength(1);
  });
});

export { scenarioExpecting };
