import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { connect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import type { SipMessage, SipResponse } from "../../../src/sip/stack/message.js";
import { parseMessage } from "../../../src/sip/stack/parser.js";
import { StreamFramer } from "../../../src/sip/stack/transport/framing.js";

/**
 * A small SIP client for tests: sends raw text, collects what comes back, parsed. Over UDP,
 * TCP or TLS, from one local socket, so rport and connection reuse can be observed.
 */
export class TestSipClient {
  readonly received: SipMessage[] = [];
  readonly rawReceived: Buffer[] = [];
  private waiters: Array<() => void> = [];

  private constructor(
    readonly transport: "udp" | "tcp" | "tls",
    private readonly sendBytes: (data: Buffer) => void,
    readonly localPort: number,
    private readonly closeSocket: () => void,
  ) {}

  static async udp(target: { address: string; port: number }): Promise<TestSipClient> {
    const socket: UdpSocket = createSocket("udp4");
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", () => resolve()));
    const client = new TestSipClient(
      "udp",
      (data) => socket.send(data, target.port, target.address),
      socket.address().port,
      () => socket.close(),
    );
    socket.on("message", (data) => client.deliver(data));
    return client;
  }

  static async stream(
    transport: "tcp" | "tls",
    target: { address: string; port: number },
  ): Promise<TestSipClient> {
    const socket: Socket = await new Promise((resolve, reject) => {
      const s =
        transport === "tls"
          ? tlsConnect({ host: target.address, port: target.port, rejectUnauthorized: false }, () =>
              resolve(s),
            )
          : connect({ host: target.address, port: target.port }, () => resolve(s));
      s.once("error", reject);
    });
    const framer = new StreamFramer(1 << 20);
    const client = new TestSipClient(
      transport,
      (data) => socket.write(data),
      socket.localPort ?? 0,
      () => socket.destroy(),
    );
    socket.on("data", (chunk: Buffer) => {
      for (const message of framer.push(chunk).messages) client.deliver(message);
    });
    socket.on("error", () => {});
    return client;
  }

  private deliver(data: Buffer): void {
    this.rawReceived.push(data);
    const result = parseMessage(data);
    if (result.ok) this.received.push(result.message);
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  send(text: string | Buffer): void {
    this.sendBytes(typeof text === "string" ? Buffer.from(text.replace(/\r?\n/g, "\r\n"), "utf8") : text);
  }

  /** Waits for a message matching the predicate that was not taken before. */
  async next(
    predicate: (message: SipMessage) => boolean = () => true,
    timeoutMs = 3000,
  ): Promise<SipMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.received.findIndex(predicate);
      if (index >= 0) return this.received.splice(index, 1)[0] as SipMessage;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("no matching SIP message arrived in time");
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async response(status?: number, timeoutMs?: number): Promise<SipResponse> {
    return (await this.next(
      (m) => m.kind === "response" && (status === undefined || m.status === status),
      timeoutMs,
    )) as SipResponse;
  }

  close(): void {
    this.closeSocket();
  }
}

let branchCounter = 0;

export function branch(): string {
  branchCounter++;
  return `z9hG4bK-test-${process.pid}-${branchCounter}-${Math.random().toString(36).slice(2)}`;
}

/** A request's text with the usual headers; `extra` lines are added before Content-Length. */
export function request(options: {
  method: string;
  uri: string;
  transport: "UDP" | "TCP" | "TLS";
  localPort: number;
  from: string;
  to: string;
  callId: string;
  cseq: number;
  branch?: string;
  fromTag?: string;
  extra?: string[];
  viaHost?: string;
  rport?: boolean;
}): string {
  const lines = [
    `${options.method} ${options.uri} SIP/2.0`,
    `Via: SIP/2.0/${options.transport} ${options.viaHost ?? "127.0.0.1"}:${options.localPort};branch=${options.branch ?? branch()}${options.rport ? ";rport" : ""}`,
    "Max-Forwards: 70",
    `From: <${options.from}>;tag=${options.fromTag ?? "ft1"}`,
    `To: <${options.to}>`,
    `Call-ID: ${options.callId}`,
    `CSeq: ${options.cseq} ${options.method}`,
    ...(options.extra ?? []),
    "Content-Length: 0",
    "",
    "",
  ];
  return lines.join("\r\n");
}
