/** What every SIP transport (UDP, TCP, TLS, WS, WSS) offers the endpoint above it. */

export type TransportName = "udp" | "tcp" | "tls" | "ws" | "wss";

export const transportNames: readonly TransportName[] = ["udp", "tcp", "tls", "ws", "wss"];

export interface SocketAddress {
  address: string;
  port: number;
}

/**
 * A flow (RFC 5626 terms): the path between one of our sockets and one remote address. For
 * connection transports it is the connection; for UDP the socket and the remote address.
 * Requests to a registered client go over the flow it registered on, which is what gets
 * through NATs and is the only way to reach WebSocket clients.
 */
export interface Flow {
  readonly id: string;
  readonly transport: TransportName;
  /** TCP, TLS, WS, WSS: the transport retransmits, so SIP timers that retransmit are off. */
  readonly reliable: boolean;
  readonly local: SocketAddress;
  readonly remote: SocketAddress;
  send(data: Buffer): void;
  isOpen(): boolean;
  /** Keeps an idle connection open at least until this time (a registration on it). */
  holdUntil(epochMs: number): void;
}

export interface TransportLimits {
  maxMessageBytes: number;
  /** Connections with no traffic for this long are closed, unless held for a registration. */
  idleTimeoutMs: number;
  /** Most concurrent connections per listener. */
  maxConnections: number;
}

export interface TransportEvents {
  /** One complete SIP message's bytes (streams are already framed). */
  onMessage(data: Buffer, flow: Flow): void;
  onFlowClosed?(flow: Flow): void;
  /** A framing problem on a stream: logged by the endpoint; the connection is closed. */
  onStreamError?(reason: string, flow: Flow): void;
}

export interface TransportListener {
  readonly transport: TransportName;
  /** The bound address (the real port when 0 was asked for). */
  readonly address: SocketAddress;
  /** An open flow of this listener by id, if any. */
  flow(id: string): Flow | undefined;
  /** A flow to a remote address: for UDP at once, for TCP/TLS a new or existing connection. */
  connect(remote: SocketAddress): Promise<Flow>;
  /** TLS and WSS listeners: serve new connections with this key and certificate (a renewal). */
  replaceCertificate?(key: Buffer, cert: Buffer): void;
  close(): Promise<void>;
}
