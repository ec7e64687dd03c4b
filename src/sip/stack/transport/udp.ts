import { createSocket, type Socket } from "node:dgram";
import { isIPv6 } from "node:net";
import type { Flow, SocketAddress, TransportEvents, TransportLimits, TransportListener } from "./types.js";

/** SIP over UDP (RFC 3261 section 18): one datagram is one message. */
export class UdpListener implements TransportListener {
  readonly transport = "udp" as const;
  /**
   * One flow object per remote address rather than one per datagram: completed transactions keep
   * their flow for 32 s (Timer J), and at thousands of messages a second that adds up.
   */
  private readonly flows = new Map<string, Flow>();
  private constructor(
    private readonly socket: Socket,
    readonly address: SocketAddress,
  ) {}

  static async listen(
    host: string,
    port: number,
    events: TransportEvents,
    limits: Pick<TransportLimits, "maxMessageBytes">,
  ): Promise<UdpListener> {
    const socket = createSocket({ type: isIPv6(host) ? "udp6" : "udp4", reuseAddr: false });
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(port, host, () => {
        socket.off("error", reject);
        resolve();
      });
    });
    // Large kernel buffers ride out bursts (a load test, a NAT keep-alive storm) without drops.
    try {
      socket.setRecvBufferSize(8 * 1024 * 1024);
      socket.setSendBufferSize(8 * 1024 * 1024);
    } catch {
      // The kernel may cap the size; the default still works.
    }
    const bound = socket.address();
    const listener = new UdpListener(socket, { address: bound.address, port: bound.port });
    socket.on("message", (data, rinfo) => {
      if (data.length > limits.maxMessageBytes) return;
      // RFC 5626 keep-alive: a bare CRLF (or CRLFCRLF); nothing to answer on UDP without STUN.
      if (data.length <= 4 && data.every((byte) => byte === 13 || byte === 10)) return;
      events.onMessage(data, listener.flowTo({ address: rinfo.address, port: rinfo.port }));
    });
    socket.on("error", () => {
      // ICMP errors surface here for a send to a closed port; UDP has nothing to do about it.
    });
    return listener;
  }

  flowTo(remote: SocketAddress): Flow {
    const key = `${remote.address}:${remote.port}`;
    const known = this.flows.get(key);
    if (known) return known;
    // Bounded: a flood from spoofed addresses must not grow this without end.
    if (this.flows.size >= 100_000) this.flows.clear();
    const flow = this.newFlow(remote);
    this.flows.set(key, flow);
    return flow;
  }

  private newFlow(remote: SocketAddress): Flow {
    const socket = this.socket;
    const local = this.address;
    return {
      id: `udp:${local.port}:${remote.address}:${remote.port}`,
      transport: "udp",
      reliable: false,
      local,
      remote,
      send: (data) => socket.send(data, remote.port, remote.address),
      isOpen: () => true,
      holdUntil: () => {},
    };
  }

  flow(id: string): Flow | undefined {
    const match = /^udp:(\d+):(.+):(\d+)$/.exec(id);
    if (!match || Number(match[1]) !== this.address.port) return undefined;
    return this.flowTo({ address: match[2] as string, port: Number(match[3]) });
  }

  async connect(remote: SocketAddress): Promise<Flow> {
    return this.flowTo(remote);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}
