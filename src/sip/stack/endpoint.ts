import { Lifecycle } from "../../lifecycle.js";
import type { Logger } from "../../logger.js";
import { type SipRequest, type SipResponse, serializeMessage } from "./message.js";
import { formatVia, type ParserLimits, parseMessage, parseVia, type Via } from "./parser.js";
import { refusalResponse } from "./refusals.js";
import {
  type ServerTransaction,
  TransactionLayer,
  type TransactionLayerEvents,
  type TransactionTimers,
} from "./transaction.js";
import { StreamListener, type TlsFiles } from "./transport/stream.js";
import type {
  Flow,
  SocketAddress,
  TransportEvents,
  TransportListener,
  TransportName,
} from "./transport/types.js";
import { UdpListener } from "./transport/udp.js";
import { WebSocketListener } from "./transport/websocket.js";

export interface ListenSpec {
  transport: TransportName;
  host: string;
  port: number;
}

export interface EndpointOptions {
  listen: readonly ListenSpec[];
  limits: ParserLimits & { idleTimeoutMs: number; maxConnections: number };
  timers: TransactionTimers;
  /** Key and certificate for TLS and WSS listeners. */
  tls?: TlsFiles | undefined;
  logger: Logger;
  /** The TU: the registrar (and later the router) answering server transactions. */
  onRequest(transaction: ServerTransaction): void;
  onStrayAck?: TransactionLayerEvents["onStrayAck"];
  /** A TCP, TLS or WebSocket connection closed (not told while the endpoint itself closes). */
  onFlowClosed?(flow: Flow): void;
}

/**
 * The SIP endpoint: listeners, parsing at the edge, NAT handling of the top Via (RFC 3581
 * rport, RFC 3261 received), response routing and the transaction layer. Everything a transport
 * delivers ends here as a transaction, a 4xx answer or a logged drop: nothing throws back into
 * a socket's event handler.
 */
export class SipEndpoint {
  private readonly listeners: TransportListener[] = [];
  readonly transactions: TransactionLayer;
  private readonly logger: Logger;
  private dropped = 0;
  private closing = false;

  private constructor(private readonly options: EndpointOptions) {
    this.logger = options.logger;
    this.transactions = new TransactionLayer(
      options.timers,
      {
        onRequest: options.onRequest,
        ...(options.onStrayAck ? { onStrayAck: options.onStrayAck } : {}),
      },
      (bytes, transaction) => {
        transaction.destination ??= this.responseDestination(transaction.request, transaction.flow);
        this.sendResponse(bytes, transaction.destination, transaction.flow);
      },
    );
  }

  static async start(options: EndpointOptions): Promise<SipEndpoint> {
    const endpoint = new SipEndpoint(options);
    const events: TransportEvents = {
      onMessage: (data, flow) => endpoint.receive(data, flow),
      onFlowClosed: (flow) => {
        if (endpoint.closing || !options.onFlowClosed) return;
        try {
          options.onFlowClosed(flow);
        } catch (error) {
          endpoint.logger.error({ err: error, flow: flow.id }, "SIP connection close handling failed");
        }
      },
      onStreamError: (reason, flow) =>
        endpoint.logger.info({ flow: flow.id, reason }, "SIP stream closed: cannot frame what the peer sent"),
    };
    const limits = {
      maxMessageBytes: options.limits.maxMessageBytes,
      idleTimeoutMs: options.limits.idleTimeoutMs,
      maxConnections: options.limits.maxConnections,
    };
    // A listener that cannot open closes the ones opened before it.
    return new Lifecycle(options.logger).start(async (lifecycle) => {
      lifecycle.defer("SIP endpoint", () => endpoint.close());
      for (const spec of options.listen) {
        let listener: TransportListener;
        if (spec.transport === "udp")
          listener = await UdpListener.listen(spec.host, spec.port, events, limits);
        else if (spec.transport === "tcp" || spec.transport === "tls") {
          listener = await StreamListener.listen(
            spec.transport,
            spec.host,
            spec.port,
            events,
            limits,
            options.tls,
          );
        } else
          listener = await WebSocketListener.listen(
            spec.transport,
            spec.host,
            spec.port,
            events,
            limits,
            options.tls,
          );
        endpoint.listeners.push(listener);
        options.logger.info({ transport: spec.transport, ...listener.address }, "SIP listening");
      }
      return endpoint;
    });
  }

  /** Where each listener is bound (the real ports when 0 was asked for). */
  addresses(): Array<{ transport: TransportName } & SocketAddress> {
    return this.listeners.map((listener) => ({ transport: listener.transport, ...listener.address }));
  }

  /** An open flow by id (a registration remembers the flow it came over). */
  flow(id: string): Flow | undefined {
    for (const listener of this.listeners) {
      const flow = listener.flow(id);
      if (flow?.isOpen()) return flow;
    }
    return undefined;
  }

  /** A flow to a remote address over one of our listeners of that transport. */
  async connect(transport: TransportName, remote: SocketAddress): Promise<Flow> {
    const listener = this.listeners.find((candidate) => candidate.transport === transport);
    if (!listener) throw new Error(`no ${transport} listener`);
    return listener.connect(remote);
  }

  /** New TLS connections (TLS, WSS) get this key and certificate; open ones keep theirs. */
  replaceCertificate(tls: TlsFiles): void {
    for (const listener of this.listeners) listener.replaceCertificate?.(tls.key, tls.cert);
  }

  droppedMessages(): number {
    return this.dropped;
  }

  /** One message's bytes from a transport. */
  receive(data: Buffer, flow: Flow): void {
    try {
      this.handle(data, flow);
    } catch (error) {
      // A bug in a handler must not take the listener down; the peer will retransmit or time out.
      this.dropped++;
      this.logger.error({ err: error, flow: flow.id }, "SIP message handling failed");
    }
  }

  private handle(data: Buffer, flow: Flow): void {
    const result = parseMessage(data, this.options.limits, {
      stream: flow.transport === "tcp" || flow.transport === "tls",
    });
    if (!result.ok) {
      this.dropped++;
      const partial = result.partial;
      if (partial?.kind === "request" && partial.method !== "ACK" && result.status >= 400) {
        const via = parseVia(partial.headers.values("via")[0] ?? "");
        if (via) {
          this.applyReceived(partial, via, flow);
          const response = refusalResponse(partial, {
            name: "malformed_message",
            status: result.status,
            detail: result.reason,
          });
          this.sendResponse(serializeMessage(response), this.responseDestination(partial, flow), flow);
        }
      }
      this.logger.debug({ flow: flow.id, reason: result.reason }, "SIP message rejected");
      return;
    }
    const message = result.message;
    if (message.kind === "response") {
      this.transactions.receiveResponse(message, flow);
      return;
    }
    const via = message.parsed?.topVia ?? (parseVia(message.headers.values("via")[0] ?? "") as Via);
    this.applyReceived(message, via, flow);
    this.transactions.receiveRequest(message, via, flow);
  }

  /**
   * RFC 3261 section 18.2.1 and RFC 3581: note the source address in the top Via when it
   * differs from sent-by, and the source port when the client asked with rport.
   */
  private applyReceived(request: SipRequest, via: Via, flow: Flow): void {
    let changed = false;
    if (via.host !== flow.remote.address && via.host !== `[${flow.remote.address}]`) {
      via.params.set("received", flow.remote.address);
      changed = true;
    }
    if (via.params.has("rport") && via.params.get("rport") === null) {
      via.params.set("rport", String(flow.remote.port));
      if (!via.params.has("received")) via.params.set("received", flow.remote.address);
      changed = true;
    }
    if (changed) {
      const [, ...rest] = request.headers.values("via");
      request.headers.remove("via");
      request.headers.prepend("Via", [formatVia(via), ...rest].join(", "));
    }
  }

  /**
   * RFC 3261 section 18.2.2: over a connection back on that connection; over UDP to the
   * received address and the rport (or sent-by) port, from the socket the request came to.
   */
  private responseDestination(request: SipRequest, flow: Flow): Flow | undefined {
    if (flow.reliable) return flow;
    const via = request.parsed?.topVia ?? parseVia(request.headers.values("via")[0] ?? "");
    if (!via) return undefined;
    const rport = via.params.get("rport");
    const address = via.params.get("received") ?? via.host.replace(/^\[|\]$/g, "");
    const port = rport ? Number(rport) : (via.port ?? 5060);
    if (address === flow.remote.address && port === flow.remote.port) return flow;
    const listener = this.listeners.find((l) => l.transport === "udp" && l.address.port === flow.local.port);
    return listener instanceof UdpListener ? listener.flowTo({ address, port }) : undefined;
  }

  private sendResponse(bytes: Buffer, destination: Flow | undefined, flow: Flow): void {
    if (destination?.isOpen()) destination.send(bytes);
    else this.logger.debug({ flow: flow.id }, "SIP response not sent: the connection is gone");
  }

  /** Sends a request statelessly (an ACK for a 2xx, a keep-alive); transactions use sendRequest. */
  sendStateless(message: SipRequest | SipResponse, flow: Flow): void {
    flow.send(serializeMessage(message));
  }

  async close(): Promise<void> {
    // Connections closed by our own shutdown are not lost registrations: bindings stay for the restart.
    this.closing = true;
    this.transactions.close();
    await Promise.all(this.listeners.map((listener) => listener.close().catch(() => undefined)));
    this.listeners.length = 0;
  }
}
