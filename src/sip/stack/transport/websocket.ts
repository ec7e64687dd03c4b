import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createHttpsServer, Server as HttpsServer } from "node:https";
import { type WebSocket, WebSocketServer } from "ws";
import { listenOn, type TlsFiles } from "./stream.js";
import type { Flow, SocketAddress, TransportEvents, TransportLimits, TransportListener } from "./types.js";

let wsCounter = 0;

/**
 * SIP over WebSocket (RFC 7118): subprotocol "sip", one SIP message per WebSocket message. A
 * browser or app behind NAT can only be reached over its own connection, so there is no connect().
 */
export class WebSocketListener implements TransportListener {
  private readonly flows = new Map<string, Flow>();

  private constructor(
    readonly transport: "ws" | "wss",
    private readonly server: Server,
    private readonly wss: WebSocketServer,
    readonly address: SocketAddress,
  ) {}

  static async listen(
    transport: "ws" | "wss",
    host: string,
    port: number,
    events: TransportEvents,
    limits: TransportLimits,
    tls?: TlsFiles,
  ): Promise<WebSocketListener> {
    if (transport === "wss" && !tls) throw new Error("a WSS listener needs a key and a certificate");
    const server: Server =
      transport === "wss" && tls ? createHttpsServer({ key: tls.key, cert: tls.cert }) : createHttpServer();
    const wss = new WebSocketServer({
      server,
      maxPayload: limits.maxMessageBytes,
      handleProtocols: (protocols) => (protocols.has("sip") ? "sip" : false),
    });
    server.maxConnections = limits.maxConnections;
    const bound = await listenOn(server, port, host);
    const listener = new WebSocketListener(transport, server, wss, {
      address: bound.address,
      port: bound.port,
    });
    wss.on("connection", (socket, request) => {
      const remote = {
        address: request.socket.remoteAddress ?? "0.0.0.0",
        port: request.socket.remotePort ?? 0,
      };
      listener.adopt(socket, remote, events, limits);
    });
    return listener;
  }

  private adopt(
    socket: WebSocket,
    remote: SocketAddress,
    events: TransportEvents,
    limits: TransportLimits,
  ): void {
    if (socket.protocol !== "sip") {
      socket.close(1002, "subprotocol sip required");
      return;
    }
    wsCounter = (wsCounter + 1) % Number.MAX_SAFE_INTEGER;
    let heldUntil = 0;
    let lastActivity = Date.now();
    const flow: Flow = {
      id: `${this.transport}:${this.address.port}:${remote.address}:${remote.port}:${wsCounter.toString(36)}`,
      transport: this.transport,
      reliable: true,
      local: this.address,
      remote,
      send: (data) => {
        // RFC 7118 section 5: text frames for UTF-8 messages; SIP bodies here are text.
        if (socket.readyState === socket.OPEN) socket.send(data.toString("utf8"));
      },
      isOpen: () => socket.readyState === socket.OPEN,
      holdUntil: (epochMs) => {
        heldUntil = Math.max(heldUntil, epochMs);
      },
    };
    this.flows.set(flow.id, flow);
    const idle = setInterval(
      () => {
        if (Date.now() >= Math.max(lastActivity + limits.idleTimeoutMs, heldUntil)) socket.terminate();
      },
      Math.min(limits.idleTimeoutMs, 60_000),
    );
    idle.unref();
    socket.on("message", (data: Buffer | ArrayBuffer | Buffer[]) => {
      lastActivity = Date.now();
      const bytes = Array.isArray(data)
        ? Buffer.concat(data)
        : Buffer.isBuffer(data)
          ? data
          : Buffer.from(data);
      if (bytes.length === 0 || bytes.every((byte) => byte === 13 || byte === 10)) return;
      events.onMessage(bytes, flow);
    });
    socket.on("error", () => socket.terminate());
    socket.on("close", () => {
      clearInterval(idle);
      this.flows.delete(flow.id);
      events.onFlowClosed?.(flow);
    });
  }

  flow(id: string): Flow | undefined {
    return this.flows.get(id);
  }

  async connect(remote: SocketAddress): Promise<Flow> {
    for (const flow of this.flows.values()) {
      if (flow.remote.address === remote.address && flow.remote.port === remote.port && flow.isOpen())
        return flow;
    }
    throw new Error("WebSocket clients can only be reached over the connection they opened");
  }

  replaceCertificate(key: Buffer, cert: Buffer): void {
    if (this.server instanceof HttpsServer) this.server.setSecureContext({ key, cert });
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
