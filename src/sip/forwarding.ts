import { createHash, randomBytes } from "node:crypto";
import type { Binding } from "./binding-store.js";
import type { SipEndpoint } from "./stack/endpoint.js";
import type { SipHeaders } from "./stack/message.js";
import { parseNameAddr, parseUri, parseVia } from "./stack/parser.js";
import { magicCookie } from "./stack/transaction.js";
import type { Flow, TransportName } from "./stack/transport/types.js";

/** The branch prefix of this proxy's Vias: with our sent-by it tells a loop from a spiral. */
const branchPrefix = `${magicCookie}pvd`;

const viaTransport: Record<TransportName, string> = {
  udp: "UDP",
  tcp: "TCP",
  tls: "TLS",
  ws: "WS",
  wss: "WSS",
};

/**
 * What a proxy hop needs from the endpoint (RFC 3261 section 16.6): our Via and Record-Route
 * for the flow a request leaves by, recognising our own Route entries, and the flow to the next
 * hop, which for a registered client is the connection (or NAT address) it registered from.
 */
export class Forwarding {
  constructor(
    private readonly endpoint: SipEndpoint,
    private readonly nodeId: string,
  ) {}

  newBranch(): string {
    return `${branchPrefix}${randomBytes(9).toString("base64url")}`;
  }

  /**
   * The branch of a request forwarded statelessly (the ACK of a 2xx): derived from the request's
   * own top Via, so a retransmission leaves with the same branch and the next hop can tell it is
   * one (RFC 3261 section 16.11).
   */
  statelessBranch(headers: SipHeaders): string {
    const key = `${headers.values("via")[0] ?? ""}|${headers.get("call-id") ?? ""}|${headers.get("cseq") ?? ""}`;
    return `${branchPrefix}${createHash("sha256").update(key).digest("base64url").slice(0, 16)}`;
  }

  via(flow: Flow, branch: string): string {
    return `SIP/2.0/${viaTransport[flow.transport]} ${hostText(flow.local.address)}:${flow.local.port};branch=${branch};rport`;
  }

  recordRoute(flow: Flow): string {
    return `<sip:${hostText(flow.local.address)}:${flow.local.port};transport=${flow.transport};lr>`;
  }

  /** Whether host:port is one of our listeners. */
  isOurs(host: string, port: number | null): boolean {
    const bare = host.replace(/^\[|\]$/g, "");
    return this.endpoint
      .addresses()
      .some((address) => address.address === bare && (port === null || address.port === port));
  }

  /** A Via we added (our sent-by and branch prefix): the request came back to us, a loop. */
  hasOurVia(headers: SipHeaders): boolean {
    for (const value of headers.values("via")) {
      const via = parseVia(value);
      if (via?.branch?.startsWith(branchPrefix) && this.isOurs(via.host, via.port)) return true;
    }
    return false;
  }

  /** Loose routing (RFC 3261 section 16.4): removes the Route entries that name us; how many. */
  popOwnRoutes(headers: SipHeaders): number {
    let popped = 0;
    for (;;) {
      const first = headers.values("route")[0];
      if (first === undefined) return popped;
      const uri = parseNameAddr(first)?.parsedUri;
      if (!uri || uri.scheme === "tel" || !this.isOurs(uri.host, uri.port)) return popped;
      headers.removeFirstValue("route");
      popped++;
    }
  }

  /** The flow to a registered contact: the one it registered over while open, else its source address. */
  async toBinding(binding: Binding): Promise<Flow | undefined> {
    if (binding.flowId && binding.nodeId === this.nodeId) {
      const flow = this.endpoint.flow(binding.flowId);
      if (flow) return flow;
    }
    const transport = binding.transport as TransportName;
    // A connection that is gone cannot be opened back to a client's ephemeral port; UDP can.
    if (transport !== "udp") return undefined;
    return this.connect("udp", { address: binding.sourceAddress, port: binding.sourcePort });
  }

  /** The flow to a URI's host, port and transport (a Route or a Contact outside any known dialog). */
  async toUri(text: string): Promise<Flow | undefined> {
    const uri = parseUri(text.replace(/^<|>$/g, ""));
    if (!uri || uri.scheme === "tel") return undefined;
    const transportParam = uri.params.get("transport")?.toLowerCase();
    const transport: TransportName =
      transportParam === "tcp" || transportParam === "tls"
        ? transportParam
        : uri.scheme === "sips"
          ? "tls"
          : "udp";
    const port = uri.port ?? (transport === "tls" ? 5061 : 5060);
    return this.connect(transport, { address: uri.host.replace(/^\[|\]$/g, ""), port });
  }

  private async connect(transport: TransportName, remote: { address: string; port: number }) {
    try {
      return await this.endpoint.connect(transport, remote);
    } catch {
      return undefined;
    }
  }
}

function hostText(address: string): string {
  return address.includes(":") ? `[${address}]` : address;
}
