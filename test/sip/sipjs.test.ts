import { Registerer, RegistererState, UserAgent } from "sip.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { type SipTestServer, startSipTestServer } from "./support/accounts.js";

/** SIP.js (a real browser-style client) registering over WebSocket (RFC 7118). */
describe("SIP.js over WebSocket", () => {
  let server: SipTestServer;

  beforeAll(async () => {
    // SIP.js expects the browser's WebSocket; Node 20 has none without a flag.
    (globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;
    // SIP.js 0.21 knows only MD5 and, offered MD5 and SHA-256, reads the SHA-256 challenge and
    // gives up ("algorithm different than 'MD5'"), whichever comes first. The shipped defaults
    // must do: a profile's digestAlgorithms is MD5 alone unless the operator says otherwise.
    server = await startSipTestServer({ listen: "udp:127.0.0.1:0,ws:127.0.0.1:0" });
  });

  afterAll(async () => {
    await server?.stop();
  });

  async function register(username: string, password: string) {
    const userAgent = new UserAgent({
      uri: UserAgent.makeURI(`sip:${username}@127.0.0.1`),
      transportOptions: { server: `ws://127.0.0.1:${server.ws?.port}` },
      authorizationUsername: username,
      authorizationPassword: password,
      logLevel: process.env.SIPJS_DEBUG ? "debug" : "error",
    });
    await userAgent.start();
    const registerer = new Registerer(userAgent, { expires: 300 });
    const outcome = new Promise<RegistererState | "rejected">((resolve) => {
      registerer.stateChange.addListener((state) => {
        if (state === RegistererState.Registered || state === RegistererState.Unregistered) resolve(state);
      });
    });
    const rejected = registerer.register({
      requestDelegate: {
        onReject: () => {},
      },
    });
    const state = await Promise.race([
      outcome,
      rejected.then(() => new Promise<"rejected">((resolve) => setTimeout(() => resolve("rejected"), 3000))),
    ]);
    return { userAgent, registerer, state };
  }

  it("registers, shows the binding with transport ws, and unregisters", async () => {
    const id = await server.createAccount("3001", "password-3001");
    const { userAgent, registerer, state } = await register("3001", "password-3001");
    expect(state).toBe(RegistererState.Registered);
    const details = await server.api.ok<{ registrations: Array<{ transport: string; userAgent: string }> }>(
      "GET",
      `/api/v1/accounts/${id}`,
    );
    expect(details.registrations).toHaveLength(1);
    expect(details.registrations[0]?.transport).toBe("ws");
    expect(details.registrations[0]?.userAgent).toMatch(/SIP\.js/);
    await registerer.unregister();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const after = await server.api.ok<{ registrations: unknown[] }>("GET", `/api/v1/accounts/${id}`);
    expect(after.registrations).toEqual([]);
    await userAgent.stop();
  });

  it("does not register with a wrong password", async () => {
    await server.createAccount("3002", "password-3002");
    const { userAgent, state } = await register("3002", "wrong-password");
    expect(state).not.toBe(RegistererState.Registered);
    await userAgent.stop();
  });
});
