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
    for (let i = 0; i < 22; i++) {
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

  it("connects a TCP caller to a UDP callee (two Record-Routes), and the callee's BYE ends it", async () => {
    const port = await sipp.registerCallee("3003");
    const callee = sipp.callee("uas_answer_and_hang_up.xml", port);
    await pause(300);
    expectOk(await sipp.call("call_callee_hangs_up.xml", "3002", "3003", "tcp"), "caller");
    expectOk(await callee, "callee");
    const [cdr] = await sipp.cdrsOf(id("3002"));
    expect(cdr).toMatchObject({ status: "answered", endedBy: "callee" });
  });

  it("passes a re-INVITE along the dialog", async () => {
    const port = await sipp.registerCallee("3005");
    const callee = sipp.callee("uas_reinvite.xml", port);
    await pause(300);
    expectOk(await sipp.call("call_reinvite.xml", "3004", "3005"), "caller");
    expectOk(await callee, "callee");
    expect(await sipp.cdrsOf(id("3004"))).toMatchObject([{ status: "answered", endedBy: "caller" }]);
  });

  it("passes the callee's 486 Busy Here to the caller", async () => {
    const port = await sipp.registerCallee("3007");
    const callee = sipp.callee("uas_busy.xml", port);
    await pause(300);
    expectOk(await sipp.call(scenarioExpecting("call_refused.xml", 486), "3006", "3007"), "caller");
    expectOk(await callee, "callee");
    expect(await sipp.cdrsOf(id("3006"))).toMatchObject([{ status: "busy", sipStatus: 486, endedBy: null }]);
  });

  it("cancels the callee when the caller cancels", async () => {
    const port = await sipp.registerCallee("3009");
    const callee = sipp.callee("uas_ring.xml", port);
    await pause(300);
    expectOk(await sipp.call("call_cancel.xml", "3008", "3009"), "caller");
    expectOk(await callee, "callee");
    expect(await sipp.cdrsOf(id("3008"))).toMatchObject([{ status: "cancelled", sipStatus: 487 }]);
  });

  it("answers 408 and cancels the callee when nobody answers within the ring timeout", async () => {
    const port = await sipp.registerCallee("3011");
    const callee = sipp.callee("uas_ring.xml", port);
    await pause(300);
    expectOk(await sipp.call(scenarioExpecting("call_refused.xml", 408), "3010", "3011"), "caller");
    expectOk(await callee, "callee");
    expect(await sipp.cdrsOf(id("3010"))).toMatchObject([{ status: "no_answer", sipStatus: 408 }]);
  });

  it("answers 404 for an unknown user and 480 for an account that is not registered", async () => {
    expectOk(await sipp.call(scenarioExpecting("call_refused.xml", 404), "3012", "3899"), "unknown");
    expectOk(await sipp.call(scenarioExpecting("call_refused.xml", 480), "3012", "3013"), "not registered");
    const cdrs = await sipp.cdrsOf(id("3012"));
    expect(cdrs.map((cdr) => [cdr.callee, cdr.status])).toEqual(
      expect.arrayContaining([
        ["3899@127.0.0.1", "not_found"],
        ["3013@127.0.0.1", "unavailable"],
      ]),
    );
  });

  it("forks to every contact of the callee and cancels the others when one answers", async () => {
    const ringing = await sipp.registerCallee("3015");
    const answering = await sipp.registerCallee("3015");
    const ringer = sipp.callee("uas_ring.xml", ringing);
    const answerer = sipp.callee("uas_answer.xml", answering);
    await pause(300);
    expectOk(await sipp.call("call.xml", "3014", "3015"), "caller");
    expectOk(await answerer, "answering contact");
    expectOk(await ringer, "ringing contact");
    expect(await sipp.cdrsOf(id("3014"))).toMatchObject([{ status: "answered" }]);
  });

  it("carries a MESSAGE to the callee", async () => {
    const port = await sipp.registerCallee("3017");
    const callee = sipp.callee("uas_message.xml", port);
    await pause(300);
    expectOk(await sipp.call(scenarioExpecting("message.xml", 200), "3016", "3017"), "sender");
    expectOk(await callee, "recipient");
    // A MESSAGE is not a call: no call record.
    expect(await sipp.cdrsOf(id("3016"))).toEqual([]);
  });

  it("refuses a MESSAGE from or to a disabled account with 403", async () => {
    expectOk(await sipp.call(scenarioExpecting("message.xml", 403), "3990", "3017"), "from disabled");
    expectOk(await sipp.call(scenarioExpecting("message.xml", 403), "3016", "3991"), "to disabled");
  });
});
