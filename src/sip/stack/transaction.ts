import { createResponse, newTag, type SipRequest, type SipResponse, serializeMessage } from "./message.js";
import { parseCSeq, parseVia, tagOf, type Via } from "./parser.js";
import { type TimerHandle, TimerWheel } from "./timer-wheel.js";
import type { Flow } from "./transport/types.js";

/**
 * The four transaction state machines of RFC 3261 section 17, with RFC 6026's Accepted state
 * for INVITE 2xx. Timers: T1 (RTT estimate), T2 (retransmit cap), T4 (network lifetime); on
 * reliable transports the retransmit timers (A, E, G) are off and the wait timers (D, I, J, K)
 * are zero.
 */

export interface TransactionTimers {
  t1: number;
  t2: number;
  t4: number;
}

export const defaultTransactionTimers: TransactionTimers = { t1: 500, t2: 4000, t4: 5000 };

export const magicCookie = "z9hG4bK";

/**
 * The server transaction key (RFC 3261 section 17.2.3): branch, sent-by and method (ACK
 * matches its INVITE), or for RFC 2543 peers without the magic cookie the request's identity.
 */
export function serverTransactionKey(request: SipRequest, via: Via): string | null {
  const method = request.method === "ACK" ? "INVITE" : request.method;
  const branch = via.branch;
  if (branch?.startsWith(magicCookie)) return `${branch}|${via.host}:${via.port ?? ""}|${method}`;
  const cseq = parseCSeq(request.headers.get("cseq") ?? "");
  const callId = request.headers.get("call-id");
  if (!cseq || callId === undefined) return null;
  // RFC 2543 fallback (section 17.2.3): Request-URI, From tag, Call-ID, CSeq number and top Via.
  // The To tag is left out so that the ACK (which carries our tag) finds its INVITE.
  return `2543|${request.uri}|${tagOf(request.headers.get("from")) ?? ""}|${callId}|${cseq.seq}|${via.host}:${via.port ?? ""}|${branch ?? ""}|${method}`;
}

export type ServerTransactionState =
  | "trying"
  | "proceeding"
  | "completed"
  | "accepted"
  | "confirmed"
  | "terminated";

export class ServerTransaction {
  state: ServerTransactionState;
  readonly method: string;
  /** Where responses go (RFC 3261 section 18.2.2), worked out by the endpoint at the first one. */
  destination: Flow | undefined;
  private requestRef: SipRequest | null;
  private lastResponse: Buffer | null = null;
  private timer: TimerHandle | null = null;
  private retransmitTimer: TimerHandle | null = null;
  /** The To tag this transaction answers with, so every response of it carries the same one. */
  readonly toTag: string | undefined;

  constructor(
    readonly key: string,
    request: SipRequest,
    readonly flow: Flow,
    private readonly layer: TransactionLayer,
  ) {
    this.requestRef = request;
    this.method = request.method;
    this.state = request.method === "INVITE" ? "proceeding" : "trying";
    const toTag = request.parsed
      ? (request.parsed.to.params.get("tag") ?? null)
      : tagOf(request.headers.get("to"));
    this.toTag = toTag === null ? newTag() : undefined;
  }

  /**
   * The request, for the TU while it works on it. After the final response the transaction only
   * keeps what absorbing retransmissions needs (the response bytes and where they go): a busy
   * registrar holds hundreds of thousands of completed transactions through Timer J.
   */
  get request(): SipRequest {
    if (!this.requestRef) throw new Error("the request of a completed transaction is released");
    return this.requestRef;
  }

  get isInvite(): boolean {
    return this.method === "INVITE";
  }

  /** Sends a response built by the TU and moves the state machine. Late responses are dropped. */
  respond(response: SipResponse): void {
    if (this.state === "completed" || this.state === "confirmed" || this.state === "terminated") return;
    if (this.state === "accepted" && (response.status < 200 || response.status >= 300)) return;
    const bytes = serializeMessage(response);
    this.lastResponse = bytes;
    this.layer.transmit(bytes, this);
    const { t1, t2 } = this.layer.timers;
    const reliable = this.flow.reliable;
    if (response.status < 200) {
      this.state = "proceeding";
      return;
    }
    this.requestRef = null;
    if (!this.isInvite) {
      // Timer J: absorb request retransmissions for 64*T1 on UDP.
      this.state = "completed";
      this.terminateAfter(reliable ? 0 : 64 * t1);
    } else if (response.status < 300) {
      // RFC 6026: Accepted, Timer L; the TU retransmits the 2xx itself.
      this.state = "accepted";
      this.terminateAfter(64 * t1);
    } else {
      this.state = "completed";
      if (!reliable) {
        let interval = t1;
        const retransmit = () => {
          if (this.state !== "completed" || !this.lastResponse) return;
          this.layer.transmit(this.lastResponse, this);
          interval = Math.min(2 * interval, t2);
          this.retransmitTimer = this.layer.wheel.schedule(interval, retransmit);
        };
        this.retransmitTimer = this.layer.wheel.schedule(interval, retransmit); // Timer G
      }
      this.timer = this.layer.wheel.schedule(64 * t1, () => {
        // Timer H: the ACK never came.
        this.cancelRetransmit();
        this.terminate();
        this.layer.events.onTimeout?.(this);
      });
    }
  }

  /** Builds and sends a response in one go. */
  reply(status: number, options: Parameters<typeof createResponse>[2] = {}): void {
    if (!this.requestRef) return; // answered already: late answers are dropped
    this.respond(
      createResponse(this.requestRef, status, { ...(this.toTag ? { toTag: this.toTag } : {}), ...options }),
    );
  }

  /** A retransmitted request or an ACK that matched this transaction. */
  receive(request: SipRequest): void {
    if (request.method === "ACK") {
      if (this.isInvite && this.state === "completed") {
        this.state = "confirmed";
        this.cancelRetransmit();
        if (this.timer) this.timer.cancelled = true;
        this.terminateAfter(this.flow.reliable ? 0 : this.layer.timers.t4); // Timer I
      }
      return;
    }
    // A retransmission: answer with the last response (none yet while Trying).
    if ((this.state === "proceeding" || this.state === "completed") && this.lastResponse) {
      this.layer.transmit(this.lastResponse, this);
    }
  }

  private cancelRetransmit(): void {
    if (this.retransmitTimer) this.retransmitTimer.cancelled = true;
    this.retransmitTimer = null;
  }

  private terminateAfter(delayMs: number): void {
    if (this.timer) this.timer.cancelled = true;
    if (delayMs <= 0) {
      this.terminate();
      return;
    }
    this.timer = this.layer.wheel.schedule(delayMs, () => this.terminate());
  }

  private terminate(): void {
    this.state = "terminated";
    this.layer.forget(this);
  }
}

export type ClientTransactionState =
  | "calling"
  | "trying"
  | "proceeding"
  | "completed"
  | "accepted"
  | "terminated";

export interface ClientTransactionEvents {
  onResponse(response: SipResponse, transaction: ClientTransaction): void;
  /** Timer B or F: no final response in time (the TU acts as if a 408 came). */
  onTimeout?(transaction: ClientTransaction): void;
}

export class ClientTransaction {
  state: ClientTransactionState;
  private timers: TimerHandle[] = [];
  private readonly bytes: Buffer;

  constructor(
    readonly key: string,
    readonly request: SipRequest,
    readonly flow: Flow,
    private readonly layer: TransactionLayer,
    private readonly events: ClientTransactionEvents,
  ) {
    this.state = request.method === "INVITE" ? "calling" : "trying";
    this.bytes = serializeMessage(request);
  }

  start(): void {
    const { t1, t2 } = this.layer.timers;
    this.flow.send(this.bytes);
    if (!this.flow.reliable) {
      // Timer A (INVITE) doubles without a cap; Timer E (non-INVITE) is capped at T2.
      let interval = t1;
      const retransmit = () => {
        if (this.state !== "calling" && this.state !== "trying" && this.state !== "proceeding") return;
        if (this.request.method === "INVITE" && this.state === "proceeding") return;
        this.flow.send(this.bytes);
        interval = this.request.method === "INVITE" ? 2 * interval : Math.min(2 * interval, t2);
        if (this.state === "proceeding") interval = t2;
        this.timers.push(this.layer.wheel.schedule(interval, retransmit));
      };
      this.timers.push(this.layer.wheel.schedule(interval, retransmit));
    }
    // Timer B / F.
    this.timers.push(
      this.layer.wheel.schedule(64 * t1, () => {
        if (this.state === "calling" || this.state === "trying" || this.state === "proceeding") {
          this.terminate();
          this.events.onTimeout?.(this);
        }
      }),
    );
  }

  receive(response: SipResponse): void {
    const { t1, t4 } = this.layer.timers;
    const reliable = this.flow.reliable;
    if (this.state === "terminated") return;
    if (response.status < 200) {
      if (this.state === "calling" || this.state === "trying") this.state = "proceeding";
      if (this.state === "proceeding") this.events.onResponse(response, this);
      return;
    }
    if (this.request.method === "INVITE") {
      if (response.status < 300) {
        // RFC 6026: Accepted (Timer M); 2xx retransmissions go to the TU, which ACKs them.
        if (this.state !== "accepted") {
          this.state = "accepted";
          this.cancelTimers();
          this.timers.push(this.layer.wheel.schedule(64 * t1, () => this.terminate()));
        }
        this.events.onResponse(response, this);
        return;
      }
      this.flow.send(serializeMessage(this.ackFor(response)));
      if (this.state === "completed") return; // a retransmitted final: ACK again, tell nobody
      this.state = "completed";
      this.cancelTimers();
      this.events.onResponse(response, this);
      if (reliable) this.terminate();
      else this.timers.push(this.layer.wheel.schedule(32_000, () => this.terminate())); // Timer D
      return;
    }
    if (this.state === "completed") return;
    this.state = "completed";
    this.cancelTimers();
    this.events.onResponse(response, this);
    if (reliable) this.terminate();
    else this.timers.push(this.layer.wheel.schedule(t4, () => this.terminate())); // Timer K
  }

  /** The ACK for a non-2xx final response (RFC 3261 section 17.1.1.3). */
  private ackFor(response: SipResponse): SipRequest {
    const request = this.request;
    const headers = request.headers.clone();
    for (const key of [...new Set(headers.entries().map((h) => h.key))]) {
      if (!["via", "from", "call-id", "route", "max-forwards"].includes(key)) headers.remove(key);
    }
    const firstVia = request.headers.values("via")[0] ?? "";
    headers.remove("via").prepend("Via", firstVia);
    headers.append("To", response.headers.get("to") ?? request.headers.get("to") ?? "");
    headers.append("CSeq", `${parseCSeq(request.headers.get("cseq") ?? "")?.seq ?? 1} ACK`);
    return { kind: "request", method: "ACK", uri: request.uri, headers, body: Buffer.alloc(0) };
  }

  private cancelTimers(): void {
    for (const timer of this.timers) timer.cancelled = true;
    this.timers = [];
  }

  private terminate(): void {
    this.cancelTimers();
    this.state = "terminated";
    this.layer.forgetClient(this);
  }
}

export interface TransactionLayerEvents {
  /** A new request: the TU answers through the transaction. */
  onRequest(transaction: ServerTransaction): void;
  /** An ACK that matched no transaction (the ACK for a 2xx) or a CANCEL-less stray. */
  onStrayAck?(request: SipRequest, flow: Flow): void;
  /** A response that matched no client transaction (a 2xx retransmission after Timer M). */
  onStrayResponse?(response: SipResponse, flow: Flow): void;
  /** Timer H fired: no ACK for a final INVITE response. */
  onTimeout?(transaction: ServerTransaction): void;
}

export class TransactionLayer {
  private readonly server = new Map<string, ServerTransaction>();
  private readonly client = new Map<string, ClientTransaction>();
  readonly wheel: TimerWheel;

  constructor(
    readonly timers: TransactionTimers,
    readonly events: TransactionLayerEvents,
    /** Sends a response of a server transaction (the endpoint picks the flow from the Via). */
    readonly transmit: (bytes: Buffer, transaction: ServerTransaction) => void,
    wheel?: TimerWheel,
  ) {
    this.wheel = wheel ?? new TimerWheel();
  }

  /** A request from a transport, its top Via already parsed (and received/rport applied). */
  receiveRequest(request: SipRequest, via: Via, flow: Flow): void {
    const key = serverTransactionKey(request, via);
    if (key === null) return;
    const existing = this.server.get(key);
    if (existing) {
      existing.receive(request);
      return;
    }
    if (request.method === "ACK") {
      this.events.onStrayAck?.(request, flow);
      return;
    }
    const transaction = new ServerTransaction(key, request, flow, this);
    this.server.set(key, transaction);
    // RFC 3261 section 17.2.1: 100 Trying at once, so the client stops retransmitting the INVITE.
    if (request.method === "INVITE") transaction.respond(createResponse(request, 100));
    this.events.onRequest(transaction);
  }

  receiveResponse(response: SipResponse, flow: Flow): void {
    const via = response.parsed?.topVia ?? parseVia(response.headers.values("via")[0] ?? "");
    const cseq = response.parsed?.cseq ?? parseCSeq(response.headers.get("cseq") ?? "");
    if (!via?.branch || !cseq) return;
    const method = cseq.method === "ACK" ? "INVITE" : cseq.method;
    const transaction = this.client.get(`${via.branch}|${method}`);
    if (transaction) transaction.receive(response);
    else this.events.onStrayResponse?.(response, flow);
  }

  /** Starts a client transaction; the request's top Via must carry a fresh magic-cookie branch. */
  sendRequest(request: SipRequest, flow: Flow, events: ClientTransactionEvents): ClientTransaction {
    const via = parseVia(request.headers.values("via")[0] ?? "");
    if (!via?.branch?.startsWith(magicCookie)) throw new Error("a client request needs a z9hG4bK branch");
    const transaction = new ClientTransaction(`${via.branch}|${request.method}`, request, flow, this, events);
    this.client.set(transaction.key, transaction);
    transaction.start();
    return transaction;
  }

  forget(transaction: ServerTransaction): void {
    if (this.server.get(transaction.key) === transaction) this.server.delete(transaction.key);
  }

  forgetClient(transaction: ClientTransaction): void {
    if (this.client.get(transaction.key) === transaction) this.client.delete(transaction.key);
  }

  /** The INVITE server transaction a CANCEL refers to (RFC 3261 section 9.2). */
  findInviteFor(cancel: SipRequest, via: Via): ServerTransaction | undefined {
    const key = serverTransactionKey({ ...cancel, method: "INVITE" }, via);
    return key === null ? undefined : this.server.get(key);
  }

  counts(): { server: number; client: number; timers: number } {
    return { server: this.server.size, client: this.client.size, timers: this.wheel.size() };
  }

  close(): void {
    this.wheel.stop();
    this.server.clear();
    this.client.clear();
  }
}
