import { readFileSync } from "node:fs";
import { connect, createServer, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { createLogger } from "../../src/logger.js";
import { SipEndpoint } from "../../src/sip/stack/endpoint.js";
import { defaultParserLimits, parseMessage, parseVia, tagOf } from "../../src/sip/stack/parser.js";
import type { ServerTransaction } from "../../src/sip/stack/transaction.js";
import { branch, request, TestSipClient } from "./support/client.js";
import { freePort, selfSignedCertificate } from "./support/tools.js";

const logger = createLogger("silent");
let endpoint: SipEndpoint | undefined;
const clients: TestSipClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await endpoint?.close();
  endpoint = undefined;
});

async function start(
  onRequest: (tx: ServerTransaction) => void,
  transports: Array<"udp" | "tcp" | "tls" | "ws"> = ["udp", "tcp"],
  tls?: { key: Buffer; cert: Buffer },
  idleTimeoutMs = 60_000,
) {
  endpoint = await SipEndpoint.start({
    listen: transports.map((transport) => ({ transport, host: "127.0.0.1", port: 0 })),
    limits: { ...defaultParserLimits, idleTimeoutMs, maxConnections: 100 },
    timers: { t1: 500, t2: 4000, t4: 5000 },
    tls,
    logger,
    onRequest,
  });
  const address = (transport: string) => {
    const found = endpoint?.addresses().find((a) => a.transport === transport);
    if (!found) throw new Error(`no ${transport} listener`);
    return found;
  };
  return { address };
}

async function client(transport: "udp" | "tcp" | "tls", target: { address: string; port: number }) {
  const c =
    transport === "udp" ? await TestSipClient.udp(target) : await TestSipClient.stream(transport, target);
  clients.push(c);
  return c;
}

function options(c: TestSipClient, extra: Partial<Parameters<typeof request>[0]> = {}) {
  return request({
    method: "OPTIONS",
    uri: "sip:127.0.0.1",
    transport: c.transport.toUpperCase() as "UDP",
    localPort: c.localPort,
    from: "sip:alice@127.0.0.1",
    to: "sip:127.0.0.1",
    callId: `call-${Math.random()}`,
    cseq: 1,
    ...extra,
  });
}

describe("SIP endpoint over UDP", () => {
  it("answers through the transaction and absorbs retransmissions (the TU sees the request once)", async () => {
    let seen = 0;
    const { address } = await start((tx) => {
      seen++;
      tx.reply(200);
    });
    const c = await client("udp", address("udp"));
    const text = options(c, { branch: branch() });
    c.send(text);
    const first = await c.response(200);
    c.send(text);
    const again = await c.response(200);
    expect(seen).toBe(1);
    expect(tagOf(again.headers.get("to"))).toBe(tagOf(first.headers.get("to")));
  });

  it("sends 100 Trying for INVITE at once, before the TU answers", async () => {
    const { address } = await start(() => {});
    const c = await client("udp", address("udp"));
    c.send(options(c, { method: "INVITE" }));
    const trying = await c.response(100);
    expect(trying.reason).toBe("Trying");
    expect(tagOf(trying.headers.get("to"))).toBeNull();
  });

  it("fills in received and rport (RFC 3581) and answers to the source port", async () => {
    const { address } = await start((tx) => tx.reply(200));
    const c = await client("udp", address("udp"));
    c.send(options(c, { rport: true, viaHost: "192.0.2.33" }));
    const response = await c.response(200);
    const via = parseVia(response.headers.get("via") ?? "");
    expect(via?.params.get("received")).toBe("127.0.0.1");
    expect(via?.params.get("rport")).toBe(String(c.localPort));
  });

  it("answers a malformed request with 400 and a Warning, and drops garbage silently", async () => {
    let seen = 0;
    const { address } = await start(() => seen++);
    const c = await client("udp", address("udp"));
    c.send(options(c).replace("Max-Forwards: 70", "Max-Forwards: seventy"));
    const response = await c.response(400);
    expect(response.headers.get("warning")).toContain("malformed Max-Forwards");
    c.send(Buffer.from([0, 1, 2, 255, 13, 10, 13, 10]));
    c.send("\r\n\r\n");
    c.send(options(c));
    await expect(c.next((m) => m.kind === "response" && m.status !== 400, 300)).rejects.toThrow();
    expect(seen).toBe(1);
  });
});

describe("SIP endpoint over TCP, TLS and WebSocket", () => {
  it("frames pipelined and byte-by-byte messages and answers each on the same connection", async () => {
    const methods: string[] = [];
    const { address } = await start(
      (tx) => {
        methods.push(tx.request.headers.get("call-id") ?? "");
        tx.reply(200);
      },
      ["tcp"],
    );
    const c = await client("tcp", address("tcp"));
    const a = options(c, { callId: "a" });
    const b = options(c, { callId: "b" });
    c.send(Buffer.from(`${a}${b}`.replace(/\r?\n/g, "\r\n")));
    await c.response(200);
    await c.response(200);
    const slow = Buffer.from(options(c, { callId: "slow" }));
    for (const byte of slow) {
      c.send(Buffer.from([byte]));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await c.response(200);
    expect(methods).toEqual(["a", "b", "slow"]);
  });

  it("answers a double-CRLF keep-alive with a CRLF and closes a stream it cannot frame", async () => {
    const { address } = await start((tx) => tx.reply(200), ["tcp"]);
    const c = await client("tcp", address("tcp"));
    c.send(Buffer.from("\r\n\r\n"));
    c.send(Buffer.from("OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bKx\r\n\r\n"));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const again = await TestSipClient.stream("tcp", address("tcp"));
    clients.push(again);
    again.send(options(again));
    await again.response(200);
  });

  it("closes idle connections", async () => {
    const { address } = await start((tx) => tx.reply(200), ["tcp"], undefined, 300);
    const socket = connect({ host: "127.0.0.1", port: address("tcp").port });
    const started = Date.now();
    await new Promise((resolve) => socket.once("close", resolve));
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("serves TLS with the configured certificate, and plain TCP beside it", async () => {
    const cert = selfSignedCertificate("sip-tls-");
    const tls = { key: readFileSync(cert.keyFile), cert: readFileSync(cert.certFile) };
    const { address } = await start((tx) => tx.reply(200), ["tcp", "tls"], tls);
    const c = await client("tls", address("tls"));
    c.send(options(c));
    const response = await c.response(200);
    expect(response.headers.get("via")).toContain("SIP/2.0/TLS");
    // The plain TCP listener next to it stays plain.
    const plain = await client("tcp", address("tcp"));
    plain.send(options(plain));
    expect((await plain.response(200)).headers.get("via")).toContain("SIP/2.0/TCP");
  });

  it("speaks RFC 7118 over WebSocket with the sip subprotocol", async () => {
    const { address } = await start((tx) => tx.reply(200), ["ws"]);
    const ws = new WebSocket(`ws://127.0.0.1:${address("ws").port}`, "sip");
    await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
    const reply = new Promise<Buffer>((resolve) => ws.once("message", (data) => resolve(data as Buffer)));
    ws.send(
      request({
        method: "OPTIONS",
        uri: "sip:127.0.0.1",
        transport: "WS" as "UDP",
        localPort: 0,
        viaHost: "df7jal23ls0d.invalid",
        from: "sip:alice@127.0.0.1",
        to: "sip:127.0.0.1",
        callId: "ws-1",
        cseq: 1,
      }),
    );
    const parsed = parseMessage(Buffer.from(await reply));
    expect(parsed.ok && parsed.message.kind === "response" && parsed.message.status).toBe(200);
    ws.close();
    const refused = new WebSocket(`ws://127.0.0.1:${address("ws").port}`, "not-sip");
    const closed = await new Promise<number>((resolve) => {
      refused.once("close", (code) => resolve(code));
      refused.once("error", () => resolve(-1));
    });
    expect(closed).not.toBe(1000);
  });
  it("closes the listeners it opened when a later one cannot open", async () => {
    const listen = (port: number) =>
      new Promise<Server>((resolve, reject) => {
        const server = createServer();
        server.once("error", reject);
        server.listen(port, "127.0.0.1", () => resolve(server));
      });
    const busy = await listen(0);
    const busyPort = (busy.address() as { port: number }).port;
    const first = await freePort();
    await expect(
      SipEndpoint.start({
        listen: [
          { transport: "tcp", host: "127.0.0.1", port: first },
          { transport: "tcp", host: "127.0.0.1", port: busyPort },
        ],
        limits: { ...defaultParserLimits, idleTimeoutMs: 60_000, maxConnections: 100 },
        timers: { t1: 500, t2: 4000, t4: 5000 },
        logger,
        onRequest: () => {},
      }),
    ).rejects.toThrow();
    // The first listener was closed again: its port can be taken.
    const reused = await listen(first);
    await new Promise((resolve) => reused.close(resolve));
    await new Promise((resolve) => busy.close(resolve));
  });
});
