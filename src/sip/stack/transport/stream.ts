import type { AddressInfo } from "node:net";
import { createServer as createNetServer, connect as netConnect, type Server, type Socket } from "node:net";
import {
  createServer as createTlsServer,
  type TlsOptions,
  Server as TlsServer,
  connect as tlsConnect,
} from "node:tls";
import { StreamFramer } from "./framing.js";
import type { Flow, SocketAddress, TransportEvents, TransportLimits, TransportListener } from "./types.js";

let connectionCounter = 0;

/** One TCP or TLS connection as a flow; frames the byte stream into messages. */
class StreamFlow implements Flow {
  readonly id: string;
  readonly reliable = true;
  private heldUntil = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private lastActivity = Date.now();

  constructor(
    readonly transport: "tcp" | "tls",
    private readonly socket: Socket,
    readonly local: SocketAddress,
    readonly remote: SocketAddress,
    private readonly limits: TransportLimits,
    events: TransportEvents,
    onClose: (flow: StreamFlow) => void,
  ) {
    connectionCounter = (connectionCounter + 1) % Number.MAX_SAFE_INTEGER;
    this.id = `${transport}:${local.port}:${remote.address}:${remote.port}:${connectionCounter.toString(36)}`;
    const framer = new StreamFramer(limits.maxMessageBytes);
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => {
      this.lastActivity = Date.now();
      const { messages, pings, error } = framer.push(chunk);
      for (const message of messages) events.onMessage(message, this);
      for (let i = 0; i < pings; i++) this.send(Buffer.from("\r\n"));
      if (error) {
        events.onStreamError?.(error, this);
        socket.destroy();
      }
    });
    socket.on("error", () => socket.destroy());
    socket.on("close", () => {
      clearTimeout(this.idleTimer);
      onClose(this);
      events.onFlowClosed?.(this);
    });
    this.armIdleTimer(limits.idleTimeoutMs);
  }

  private armIdleTimer(delayMs: number): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      const now = Date.now();
      const idleUntil = Math.max(this.lastActivity + this.limits.idleTimeoutMs, this.heldUntil);
      if (now >= idleUntil) this.socket.destroy();
      else this.armIdleTimer(idleUntil - now);
    }, delayMs);
    this.idleTimer.unref();
  }

  send(data: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(data);
  }

  isOpen(): boolean {
    return !this.socket.destroyed;
  }

  holdUntil(epochMs: number): void {
    this.heldUntil = Math.max(this.heldUntil, epochMs);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export interface TlsFiles {
  key: Buffer;
  cert: Buffer;
}

/** SIP over TCP or TLS (RFC 3261 section 18, RFC 5630): framing by Content-Length, idle limits. */
export class StreamListener implements TransportListener {
  private readonly flows = new Map<string, StreamFlow>();
  /** "address:port" of the remote -> the newest flow, to reuse an existing connection. */
  private readonly byRemote = new Map<string, StreamFlow>();

  private constructor(
    readonly transport: "tcp" | "tls",
    private readonly server: Server,
    readonly address: SocketAddress,
    private readonly events: TransportEvents,
    private readonly limits: TransportLimits,
    private readonly tls: TlsOptions | undefined,
  ) {}

  static async listen(
    transport: "tcp" | "tls",
    host: string,
    port: number,
    events: TransportEvents,
    limits: TransportLimits,
    tls?: TlsFiles,
  ): Promise<StreamListener> {
    if (transport === "tls" && !tls) throw new Error("a TLS listener needs a key and a certificate");
    // Only a TLS listener speaks TLS, even when a certificate is configured for the others.
    const tlsOptions: TlsOptions | undefined =
      transport === "tls" && tls ? { key: tls.key, cert: tls.cert, minVersion: "TLSv1.2" } : undefined;
    const server: Server = tlsOptions ? createTlsServer(tlsOptions) : createNetServer();
    server.maxConnections = limits.maxConnections;
    const bound = await listenOn(server, port, host);
    const listener = new StreamListener(
      transport,
      server,
      { address: bound.address, port: bound.port },
      events,
      limits,
      tlsOptions,
    );
    server.on(tlsOptions ? "secureConnection" : "connection", (socket: Socket) => listener.adopt(socket));
    // A failed TLS handshake is the client's problem; the server keeps serving.
    server.on("tlsClientError", (_error: Error, socket: Socket) => socket.destroy());
    return listener;
  }

  private adopt(socket: Socket): StreamFlow | undefined {
    if (!socket.remoteAddress || socket.remotePort === undefined) {
      socket.destroy();
      return undefined;
    }
    const flow = new StreamFlow(
      this.transport,
      socket,
      this.address,
      { address: socket.remoteAddress, port: socket.remotePort },
      this.limits,
      this.events,
      (closed) => {
        this.flows.delete(closed.id);
        const key = `${closed.remote.address}:${closed.remote.port}`;
        if (this.byRemote.get(key) === closed) this.byRemote.delete(key);
      },
    );
    this.flows.set(flow.id, flow);
    this.byRemote.set(`${flow.remote.address}:${flow.remote.port}`, flow);
    return flow;
  }

  flow(id: string): Flow | undefined {
    return this.flows.get(id);
  }

  async connect(remote: SocketAddress): Promise<Flow> {
    const existing = this.byRemote.get(`${remote.address}:${remote.port}`);
    if (existing?.isOpen()) return existing;
    const socket = await new Promise<Socket>((resolve, reject) => {
      const options = { host: remote.address, port: remote.port };
      const socket = this.tls
        ? tlsConnect({ ...options, rejectUnauthorized: false }, () => resolve(socket))
        : netConnect(options, () => resolve(socket));
      socket.once("error", reject);
      socket.setTimeout(10_000, () => socket.destroy(new Error("connect timed out")));
    });
    socket.setTimeout(0);
    socket.removeAllListeners("error");
    const flow = this.adopt(socket);
    if (!flow) throw new Error("connection closed at once");
    return flow;
  }

  replaceCertificate(key: Buffer, cert: Buffer): void {
    if (this.server instanceof TlsServer) this.server.setSecureContext({ key, cert, minVersion: "TLSv1.2" });
  }

  openConnections(): number {
    return this.flows.size;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const flow of this.flows.values()) flow.destroy();
    await closed;
  }
}

/** Listens and answers the bound address, or rejects with the listen error (EADDRINUSE...). */
export async function listenOn(server: Server, port: number, host: string): Promise<AddressInfo> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = server.address();
  if (!bound || typeof bound === "string") throw new Error("listener has no address");
  return bound;
}
