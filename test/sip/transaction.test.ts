import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { SipRequest, SipResponse } from "../../src/sip/stack/message.js";
import { createResponse } from "../../src/sip/stack/message.js";
import { parseMessage } from "../../src/sip/stack/parser.js";
import { type ServerTransaction, TransactionLayer } from "../../src/sip/stack/transaction.js";
import type { Flow } from "../../src/sip/stack/transport/types.js";

const timers = { t1: 500, t2: 4000, t4: 5000 };

function fakeFlow(reliable: boolean) {
  const sent: string[] = [];
  const flow: Flow = {
    id: "test",
    transport: reliable ? "tcp" : "udp",
    reliable,
    local: { address: "127.0.0.1", port: 5060 },
    remote: { address: "127.0.0.1", port: 5062 },
    send: (data) => sent.push(data.toString()),
    isOpen: () => true,
    holdUntil: () => {},
  };
  return { flow, sent };
}

function message(text: string): SipRequest | SipResponse {
  const result = parseMessage(Buffer.from(text.replace(/\r?\n/g, "\r\n")));
  if (!result.ok) throw new Error(result.reason);
  return result.message;
}

function request(method: string, branch = "z9hG4bKabc", extra = ""): SipRequest {
  return message(`${method} sip:bob@127.0.0.1 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5062;branch=${branch}
Max-Forwards: 70
From: <sip:alice@127.0.0.1>;tag=a1
To: <sip:bob@127.0.0.1>${extra}
Call-ID: tx-test
CSeq: 1 ${method}
Content-Length: 0

`) as SipRequest;
}

function setup(reliable = false) {
  const { flow, sent } = fakeFlow(reliable);
  const seen: ServerTransaction[] = [];
  const timeouts: ServerTransaction[] = [];
  const layer = new TransactionLayer(
    timers,
    { onRequest: (tx) => seen.push(tx), onTimeout: (tx) => timeouts.push(tx) },
    (bytes) => flow.send(bytes),
  );
  const receive = (req: SipRequest) => {
    const via = req.parsed?.topVia;
    if (!via) throw new Error("no via");
    layer.receiveRequest(req, via, flow);
  };
  return { layer, flow, sent, seen, timeouts, receive };
}

const statusLines = (sent: string[]) => sent.map((line) => line.split("\r\n")[0]);

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("server transactions (RFC 3261 section 17.2, RFC 6026)", () => {
  it("non-INVITE over UDP: absorbs retransmissions until Timer J (64*T1), then forgets", () => {
    const t = setup();
    t.receive(request("OPTIONS"));
    expect(t.seen).toHaveLength(1);
    t.receive(request("OPTIONS")); // while Trying: nothing to resend, TU not asked again
    expect(t.sent).toHaveLength(0);
    t.seen[0]?.reply(200);
    t.receive(request("OPTIONS"));
    expect(statusLines(t.sent)).toEqual(["SIP/2.0 200 OK", "SIP/2.0 200 OK"]);
    expect(t.seen).toHaveLength(1);
    vi.advanceTimersByTime(31_900);
    t.receive(request("OPTIONS"));
    expect(t.seen).toHaveLength(1);
    vi.advanceTimersByTime(200);
    t.receive(request("OPTIONS"));
    expect(t.seen).toHaveLength(2);
  });

  it("non-INVITE over TCP: terminated at once after the final response (Timer J = 0)", () => {
    const t = setup(true);
    t.receive(request("OPTIONS"));
    t.seen[0]?.reply(200);
    expect(t.layer.counts().server).toBe(0);
  });

  it("INVITE: 100 Trying at once; a non-2xx is retransmitted (Timer G doubling to T2) until the ACK", () => {
    const t = setup();
    t.receive(request("INVITE"));
    expect(statusLines(t.sent)).toEqual(["SIP/2.0 100 Trying"]);
    t.seen[0]?.reply(486);
    expect(t.sent).toHaveLength(2);
    // Timers run on a 10 ms wheel and each retransmission is scheduled when the last one fired,
    // so the n-th one may be n*10 ms late: look a little after each due time.
    let elapsed = 0;
    const countAt = (ms: number) => {
      vi.advanceTimersByTime(ms - elapsed);
      elapsed = ms;
      return t.sent.length;
    };
    expect(countAt(500 + 60)).toBe(3); // T1
    expect(countAt(1500 + 60)).toBe(4); // +2*T1
    expect(countAt(3500 + 60)).toBe(5); // +4*T1
    expect(countAt(7500 + 60)).toBe(6); // +T2
    expect(countAt(11_500 + 60)).toBe(7); // +T2: capped
    const ack = request("ACK", "z9hG4bKabc", `;tag=${t.seen[0]?.toTag}`);
    t.receive(ack);
    expect(countAt(20_000)).toBe(7);
    expect(t.seen).toHaveLength(1);
    expect(t.timeouts).toHaveLength(0);
  });

  it("INVITE: Timer H gives up after 64*T1 without an ACK and tells the TU", () => {
    const t = setup();
    t.receive(request("INVITE"));
    t.seen[0]?.reply(603);
    vi.advanceTimersByTime(32_100);
    expect(t.timeouts).toHaveLength(1);
    expect(t.layer.counts().server).toBe(0);
  });

  it("INVITE 2xx: Accepted (RFC 6026) absorbs the retransmitted INVITE without a second TU call", () => {
    const t = setup();
    t.receive(request("INVITE"));
    t.seen[0]?.reply(200);
    t.receive(request("INVITE"));
    expect(t.seen).toHaveLength(1);
    expect(t.seen[0]?.state).toBe("accepted");
    // The ACK for a 2xx has its own branch: it is not the transaction's, it goes to the TU.
    vi.advanceTimersByTime(32_100);
    expect(t.layer.counts().server).toBe(0);
  });

  it("matches RFC 2543 requests without the magic cookie by their identity", () => {
    const t = setup();
    t.receive(request("OPTIONS", "old-style-1"));
    t.seen[0]?.reply(200);
    t.receive(request("OPTIONS", "old-style-1"));
    expect(t.seen).toHaveLength(1);
    expect(t.sent).toHaveLength(2);
  });
});

describe("client transactions (RFC 3261 section 17.1)", () => {
  it("non-INVITE over UDP: Timer E retransmits (T1 doubling to T2), Timer F times out", () => {
    const t = setup();
    let timedOut = false;
    t.layer.sendRequest(request("OPTIONS", "z9hG4bKclient1"), t.flow, {
      onResponse: () => {},
      onTimeout: () => {
        timedOut = true;
      },
    });
    const counts: number[] = [];
    let elapsed = 0;
    for (const due of [500, 1500, 3500, 7500, 11_500]) {
      vi.advanceTimersByTime(due + 60 - elapsed);
      elapsed = due + 60;
      counts.push(t.sent.length);
    }
    expect(counts).toEqual([2, 3, 4, 5, 6]);
    expect(timedOut).toBe(false);
    vi.advanceTimersByTime(32_000 - elapsed + 20);
    expect(timedOut).toBe(true);
  });

  it("stops retransmitting on a final response and hands it to the TU once", () => {
    const t = setup();
    const responses: number[] = [];
    const req = request("OPTIONS", "z9hG4bKclient2");
    t.layer.sendRequest(req, t.flow, { onResponse: (r) => responses.push(r.status) });
    const ok = createResponse(req, 200);
    ok.parsed = message(
      `SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKclient2\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:b@c>;tag=2\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`,
    ).parsed;
    t.layer.receiveResponse(ok, t.flow);
    t.layer.receiveResponse(ok, t.flow);
    vi.advanceTimersByTime(10_000);
    expect(responses).toEqual([200]);
    expect(t.sent).toHaveLength(1);
  });

  it("INVITE: ACKs a non-2xx final response itself, again for each retransmission of it", () => {
    const t = setup();
    const req = request("INVITE", "z9hG4bKclient3");
    const responses: number[] = [];
    t.layer.sendRequest(req, t.flow, { onResponse: (r) => responses.push(r.status) });
    const busy = message(
      `SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKclient3\r\nFrom: <sip:alice@127.0.0.1>;tag=a1\r\nTo: <sip:bob@127.0.0.1>;tag=b2\r\nCall-ID: tx-test\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`,
    ) as SipResponse;
    t.layer.receiveResponse(busy, t.flow);
    t.layer.receiveResponse(busy, t.flow);
    const acks = t.sent.filter((text) => text.startsWith("ACK "));
    expect(acks).toHaveLength(2);
    expect(acks[0]).toContain("CSeq: 1 ACK");
    expect(acks[0]).toContain("To: <sip:bob@127.0.0.1>;tag=b2");
    expect(acks[0]).toContain("branch=z9hG4bKclient3");
    expect(responses).toEqual([486]);
  });
});
