import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type SipTestServer, startSipTestServer } from "./support/accounts.js";
import { freePort, realPeerGate, selfSignedCertificate } from "./support/tools.js";

/** Real-peer tests: baresip, a real softphone, run headless (no audio, ctrl_tcp), registers over UDP, TCP and TLS. */
const gate = realPeerGate("baresip");

describe.skipIf(gate.skip)("baresip registers", () => {
  let server: SipTestServer;
  let tls: { address: string; port: number };
  const running: ChildProcess[] = [];

  beforeAll(async () => {
    const cert = selfSignedCertificate("sip-cert-");
    // baresip 1.0 (libre) refuses the whole challenge ("Function not implemented") as soon as one
    // WWW-Authenticate names an algorithm it lacks, in whatever order. The shipped defaults must
    // do: a profile's digestAlgorithms is MD5 alone unless the operator says otherwise.
    server = await startSipTestServer({
      listen: "udp:127.0.0.1:0,tcp:127.0.0.1:0,tls:127.0.0.1:0",
      sip: { tlsCertFile: cert.certFile, tlsKeyFile: cert.keyFile },
    });
    const found = server.server.sip?.addresses().find((a) => a.transport === "tls");
    if (!found) throw new Error("no TLS listener");
    tls = found;
  });

  afterEach(() => {
    for (const child of running.splice(0)) child.kill("SIGKILL");
  });

  afterAll(async () => {
    await server?.stop();
  });

  async function startBaresip(username: string, password: string, transport: "udp" | "tcp" | "tls") {
    const dir = mkdtempSync(join(tmpdir(), "baresip-"));
    const target = transport === "udp" ? server.udp : transport === "tcp" ? server.tcp : tls;
    writeFileSync(
      join(dir, "config"),
      [
        "poll_method epoll",
        "sip_listen 127.0.0.1:0",
        "module_path /usr/lib/baresip/modules",
        "module_app account.so",
        "module_app ctrl_tcp.so",
        `ctrl_tcp_listen 127.0.0.1:${await freePort()}`,
        "sip_verify_server no",
        "audio_player nil",
        "audio_source nil",
        "",
      ].join("\n"),
    );
    writeFileSync(
      join(dir, "accounts"),
      `<sip:${username}@127.0.0.1:${target.port};transport=${transport}>;auth_pass=${password};regint=600\n`,
    );
    let output = "";
    const child = spawn("baresip", ["-f", dir, ...(process.env.BARESIP_TRACE ? ["-s"] : [])], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    running.push(child);
    return { child, output: () => output };
  }

  async function waitForRegistration(accountId: string, timeoutMs = 10_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const details = await server.api.ok<{ registrations: Array<Record<string, unknown>> }>(
        "GET",
        `/api/v1/accounts/${accountId}`,
      );
      if (details.registrations.length > 0 || Date.now() > deadline) return details.registrations;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  for (const [index, transport] of (["udp", "tcp", "tls"] as const).entries()) {
    it(`over ${transport.toUpperCase()}`, async () => {
      const username = String(4001 + index);
      const id = await server.createAccount(username, `password-${username}`);
      const baresip = await startBaresip(username, `password-${username}`, transport);
      const registrations = await waitForRegistration(id);
      expect(
        registrations,
        `${baresip.output()}\n${server.logs
          .lines()
          .filter((l) => l.component === "sip")
          .map((l) => JSON.stringify(l))
          .join("\n")}`,
      ).toHaveLength(1);
      expect(registrations[0]).toMatchObject({ transport });
      expect(String(registrations[0]?.userAgent)).toMatch(/baresip/);
    });
  }

  it("does not register with a wrong password", async () => {
    const id = await server.createAccount("4009", "password-4009");
    await startBaresip("4009", "wrong-password", "udp");
    expect(await waitForRegistration(id, 3000)).toEqual([]);
  });
});
