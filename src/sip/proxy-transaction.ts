import { SipHeaders, type SipRequest, type SipResponse } from "./stack/message.js";
import { refuse } from "./stack/refusals.js";
import type { TimerHandle } from "./stack/timer-wheel.js";
import type { ClientTransaction, ServerTransaction, TransactionLayer } from "./stack/transaction.js";
import type { Flow } from "./stack/transport/types.js";

export interface Branch {
  readonly request: SipRequest;
  readonly flow: Flow;
  client: ClientTransaction | null;
  /** A provisional came: a CANCEL may be sent (RFC 3261 section 9.1). */
  provisional: boolean;
  /** Cancelled before any provisional came: the CANCEL goes out with the first one. */
  cancelWanted: boolean;
  cancelled: boolean;
  final: SipResponse | null;
  done: boolean;
}

export interface ProxyTransactionEvents {
  /** A provisional or 2xx from a branch, about to be forwarded (its top Via already ours removed). */
  onResponse?(response: SipResponse, branch: Branch): void;
  /** The caller's final answer: the first 2xx, or the best final when every branch ended. */
  onFinal?(status: number, response: SipResponse | null): void;
}

/**
 * The stateful proxy's part in one request (RFC 3261 sections 16.7 to 16.10): branches in
 * parallel, provisionals and every 2xx forwarded, the other branches cancelled once one answers
 * or a 6xx comes, the best final forwarded when all have ended, and 408 when none answered within
 * the ring timeout.
 */
export class ProxyTransaction {
  readonly branches: Branch[] = [];
  private answered = false;
  private finished = false;
  private ringTimer: TimerHandle | null = null;

  constructor(
    private readonly layer: TransactionLayer,
    readonly server: ServerTransaction,
    private readonly ringTimeoutMs: number,
    private readonly events: ProxyTransactionEvents = {},
  ) {}

  get isInvite(): boolean {
    return this.server.method === "INVITE";
  }

  /** Whether the caller has had its final answer. */
  get isFinished(): boolean {
    return this.finished;
  }

  /** Sends the branch requests (each with our Via on top, for its flow). */
  start(requests: ReadonlyArray<{ request: SipRequest; flow: Flow }>): void {
    for (const { request, flow } of requests) {
      const branch: Branch = {
        request,
        flow,
        client: null,
        provisional: false,
        cancelWanted: false,
        cancelled: false,
        final: null,
        done: false,
      };
      this.branches.push(branch);
    }
    if (this.isInvite && this.ringTimeoutMs > 0) {
      this.ringTimer = this.layer.wheel.schedule(this.ringTimeoutMs, () => this.ringTimeout());
    }
    for (const branch of this.branches) {
      branch.client = this.layer.sendRequest(branch.request, branch.flow, {
        onResponse: (response) => this.onBranchResponse(branch, response),
        onTimeout: () => this.onBranchEnded(branch, null),
      });
    }
  }

  /** CANCEL every branch still ringing (the caller cancelled, another branch answered, a disable). */
  cancel(): void {
    for (const branch of this.branches) this.cancelBranch(branch);
  }

  private cancelBranch(branch: Branch): void {
    if (branch.done || branch.cancelled || !this.isInvite) return;
    if (!branch.provisional) {
      branch.cancelWanted = true;
      return;
    }
    branch.cancelled = true;
    const request = branch.request;
    const headers = new SipHeaders();
    const copy = ["via", "from", "to", "call-id", "route"];
    for (const header of request.headers.entries()) {
      if (header.key === "via") continue;
      if (copy.includes(header.key)) headers.append(header.name, header.value);
    }
    headers.prepend("Via", request.headers.values("via")[0] ?? "");
    const seq = /^\s*(\d+)/.exec(request.headers.get("cseq") ?? "")?.[1] ?? "1";
    headers.append("CSeq", `${seq} CANCEL`);
    headers.append("Max-Forwards", "70");
    const cancel: SipRequest = {
      kind: "request",
      method: "CANCEL",
      uri: request.uri,
      headers,
      body: Buffer.alloc(0),
    };
    this.layer.sendRequest(cancel, branch.flow, { onResponse: () => {} });
  }

  private onBranchResponse(branch: Branch, received: SipResponse): void {
    if (branch.done && received.status >= 300) return;
    const response = withoutOwnVia(received);
    if (received.status < 200) {
      branch.provisional = true;
      if (branch.cancelWanted) this.cancelBranch(branch);
      if (received.status === 100 || this.finished) return;
      this.events.onResponse?.(response, branch);
      this.server.respond(response);
      return;
    }
    if (received.status < 300) {
      branch.done = true;
      branch.final = received;
      // Every 2xx goes to the caller (forked answers make several dialogs; the caller keeps one).
      this.events.onResponse?.(response, branch);
      this.server.respond(response);
      if (!this.answered) {
        this.answered = true;
        this.finish(received.status, response);
        for (const other of this.branches) if (other !== branch) this.cancelBranch(other);
      }
      return;
    }
    this.onBranchEnded(branch, received);
  }

  private onBranchEnded(branch: Branch, final: SipResponse | null): void {
    if (branch.done) return;
    branch.done = true;
    branch.final = final;
    if (this.finished) return;
    if (final && final.status >= 600) {
      this.forward(final);
      this.cancel();
      return;
    }
    if (this.branches.every((b) => b.done)) {
      const best = bestFinal(this.branches);
      if (best) this.forward(best);
      else {
        this.finish(408, null);
        refuse(this.server, { name: "no_answer" });
      }
    }
  }

  private forward(final: SipResponse): void {
    const response = withoutOwnVia(final);
    this.finish(final.status, response);
    this.server.respond(response);
  }

  private ringTimeout(): void {
    if (this.finished) return;
    this.finish(408, null);
    refuse(this.server, { name: "no_answer" });
    this.cancel();
  }

  private finish(status: number, response: SipResponse | null): void {
    if (this.finished) return;
    this.finished = true;
    if (this.ringTimer) this.ringTimer.cancelled = true;
    this.events.onFinal?.(status, response);
  }
}

/** Removes the top Via (ours) from a response that is to go upstream. */
function withoutOwnVia(response: SipResponse): SipResponse {
  const headers = response.headers.clone();
  headers.removeFirstValue("via");
  return { kind: "response", status: response.status, reason: response.reason, headers, body: response.body };
}

/**
 * RFC 3261 section 16.7 step 6: the lowest class wins; within a class a phone's own answer
 * (busy, decline) wins over a timeout, an unreachable contact or a cancelled branch.
 */
function bestFinal(branches: readonly Branch[]): SipResponse | null {
  let best: SipResponse | null = null;
  const weak = (status: number) => status === 408 || status === 480 || status === 487 || status === 503;
  for (const branch of branches) {
    const final = branch.final;
    if (!final) continue;
    if (!best) {
      best = final;
      continue;
    }
    const classOf = (s: number) => Math.floor(s / 100);
    const a = classOf(final.status);
    const b = classOf(best.status);
    if (a < b || (a === b && weak(best.status) && !weak(final.status))) best = final;
  }
  return best;
}
