import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SipTestServer, startSipTestServer } from "./support/accounts.js";
import { realPeerGate, runSipp } from "./support/tools.js";

/** Real-peer tests: sipp (Debian sip-tester) drives provisiond's registrar over UDP and TCP. */
const gate = realPeerGate("sipp");

describe.skipIf(gate.skip)("sipp scenarios against the registrar", () => {
  let server: SipTestServer;
  const accountIds = new Map<string, string>();

  beforeAll(async () => {
    // sipp 3.6 answers only the first challenge and knows only MD5, so MD5 is offered first here.
    server = await startSipTestServer({
      sip: { minExpiresSeconds: 60 },
      profile: { digestAlgorithms: ["MD5", "SHA-256"] },
    });
    for (let i = 0; i < 20; i++) {
      const username = String(2000 + i);
      accountIds.set(username, await server.createAccount(username, `password-${username}`));
    }
    const disabled = await server.createAccount("2999", "password-2999");
    await server.api.ok("POST", `/api/v1/accounts/${disabled}/disable`, { reason: "stolen phone" }, 200);
  });

  afterAll(async () => {
    await server?.stop();
  });

  const users = (from: number, count: number): Array<[string, string, string]> =>
    Array.from({ length: count }, (_, i) => {
      const username = String(from + i);
      return [username, `password-${username}`, "127.0.0.1"];
    });

  const registrations = async (username: string) => {
    const details = await server.api.ok<{ registrations: unknown[] }>(
      "GET",
      `/api/v1/accounts/${accountIds.get(username)}`,
    );
    return details.registrations;
  };

  it("registers, re-registers and unregisters over UDP", async () => {
    const result = await runSipp({
      scenario: "register.xml",
      target: server.udp,
      transport: "udp",
      users: users(2000, 5),
    });
    expect(result.failed, result.output).toBe(0);
    expect(result.successful, result.output).toBe(5);
    expect(result.exitCode, result.output).toBe(0);
    expect(await registrations("2000")).toEqual([]);
  });

  it("registers, re-registers and unregisters over TCP", async () => {
    const result = await runSipp({
      scenario: "register.xml",
      target: server.tcp,
      transport: "tcp",
      users: users(2005, 5),
    });
    expect(result.failed, result.output).toBe(0);
    expect(result.successful, result.output).toBe(5);
  });

  it("absorbs UDP retransmissions when a fifth of the packets are lost", async () => {
    const result = await runSipp({
      scenario: "register.xml",
      target: server.udp,
      transport: "udp",
      users: users(2010, 10),
      rate: 20,
      // sipp retransmits a request (same branch) until a response gets through: each one must get
      // the transaction's response again, never a second pass through the registrar (500, replay).
      extra: ["-lost", "20", "-max_non_invite_retrans", "12"],
      timeoutSeconds: 60,
    });
    expect(result.retransmissions, result.output).toBeGreaterThan(0);
    expect(result.failed, result.output).toBe(0);
    expect(result.successful, result.output).toBe(10);
  });

  it("answers a wrong password and an unknown user with the same 401", async () => {
    const result = await runSipp({
      scenario: "auth_refused.xml",
      target: server.udp,
      transport: "udp",
      users: [
        ["2019", "not-the-password", "127.0.0.1"],
        ["2998", "not-the-password", "127.0.0.1"],
      ],
    });
    expect(result.failed, result.output).toBe(0);
    expect(result.successful, result.output).toBe(2);
  });

  it("refuses a disabled account with 403 and a Warning", async () => {
    const result = await runSipp({
      scenario: "disabled.xml",
      target: server.udp,
      transport: "udp",
      users: [["2999", "password-2999", "127.0.0.1"]],
    });
    expect(result.failed, result.output).toBe(0);
    expect(result.successful, result.output).toBe(1);
  });

  it("refuses a too brief expiry with 423 and Min-Expires", async () => {
    const result = await runSipp({
      scenario: "too_brief.xml",
      target: server.udp,
      transport: "udp",
      users: users(2018, 1),
    });
    expect(result.failed, result.output).toBe(0);
    expect(result.successful, result.output).toBe(1);
  });
});
