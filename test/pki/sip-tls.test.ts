import { X509Certificate } from "node:crypto";
import { connect, type TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { databaseKind } from "../support/database.js";
import { startTestServer, type TestServer } from "../support/server.js";

function handshake(port: number, ca: string, verify = true): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      { host: "127.0.0.1", port, servername: "localhost", ca, rejectUnauthorized: verify },
      () => resolve(socket),
    );
    socket.once("error", reject);
  });
}

function exchange(socket: TLSSocket, message: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = "";
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("utf8");
      if (/\r\n\r\n/.test(received)) resolve(received);
    });
    socket.once("error", reject);
    socket.write(message);
  });
}

describe(`SIP over TLS with the CA's server certificate on ${databaseKind}`, () => {
  let t: TestServer;
  const clock = new ManualClock(new Date());

  beforeAll(async () => {
    t = await startTestServer({
      clock,
      config: {
        sip: {
          enabled: true,
          listen: "tls:127.0.0.1:0",
          tlsCertFile: "/nonexistent/sip-server.crt",
          tlsKeyFile: "/nonexistent/sip-server.key",
        },
      },
    });
  });
  afterAll(async () => {
    await t.stop();
  });

  const tlsPort = () => t.server.sip?.addresses().find((a) => a.transport === "tls")?.port ?? 0;

  it("listens on TLS at a fresh install with a certificate a client verifies against the CA, and answers REGISTER", async () => {
    const ca = await (await fetch(`${t.url}/pki/ca.pem`)).text();
    const socket = await handshake(tlsPort(), ca);
    try {
      expect(socket.authorized).toBe(true);
      const peer = socket.getPeerX509Certificate() as X509Certificate;
      expect(peer.subjectAltName).toContain("DNS:localhost");
      expect(peer.subjectAltName).toContain("IP Address:127.0.0.1");
      const { port } = socket.address() as { port: number };
      const answer = await exchange(
        socket,
        [
          "REGISTER sip:tls.example.net SIP/2.0",
          `Via: SIP/2.0/TLS 127.0.0.1:${port};branch=z9hG4bK-tls-1;rport`,
          "Max-Forwards: 70",
          "From: <sip:100100@tls.example.net>;tag=a1",
          "To: <sip:100100@tls.example.net>",
          "Call-ID: tls-register-1",
          "CSeq: 1 REGISTER",
          `Contact: <sip:100100@127.0.0.1:${port};transport=tls>`,
          "Expires: 60",
          "Content-Length: 0",
          "",
          "",
        ].join("\r\n"),
      );
      expect(answer).toMatch(/^SIP\/2\.0 401 /);
      expect(answer).toMatch(/WWW-Authenticate: Digest/i);
    } finally {
      socket.destroy();
    }
  });

  it("renews the server certificate before it expires and serves the new one to new connections", async () => {
    const ca = await (await fetch(`${t.url}/pki/ca.pem`)).text();
    const before = await handshake(tlsPort(), ca);
    const oldSerial = (before.getPeerX509Certificate() as X509Certificate).serialNumber;
    before.destroy();
    const pki = t.server.pki;
    expect(await pki.serverCertificate.ensure()).toBe(false);

    // Within serverRenewBeforeSeconds (30 days) of the 90-day certificate's end.
    clock.advance(65 * 86_400_000);
    expect(await pki.serverCertificate.ensure()).toBe(true);
    t.server.sip?.reloadCertificate();
    // Issued 65 days ahead of the real clock, which TLS verification uses: checked by hand instead.
    const after = await handshake(tlsPort(), ca, false);
    try {
      const renewed = after.getPeerX509Certificate() as X509Certificate;
      expect(renewed.verify(new X509Certificate(ca).publicKey)).toBe(true);
      expect(renewed.serialNumber).not.toBe(oldSerial);
      expect(Date.parse(renewed.validTo)).toBeGreaterThan(Date.now() + 100 * 86_400_000);
    } finally {
      after.destroy();
      clock.set(new Date());
    }
  });
});
