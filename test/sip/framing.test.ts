import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { StreamFramer } from "../../src/sip/stack/transport/framing.js";

const message = (body: string) =>
  Buffer.from(
    `MESSAGE sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bKx\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );

describe("TCP/TLS stream framing by Content-Length", () => {
  it("cuts pipelined messages apart and keeps a partial one for later", () => {
    const framer = new StreamFramer(65_535);
    const a = message("h\u00e9llo");
    const b = message("");
    const c = message("third");
    const all = Buffer.concat([a, b, c]);
    const first = framer.push(all.subarray(0, a.length + b.length + 10));
    expect(first.messages.map((m) => m.toString())).toEqual([a.toString(), b.toString()]);
    expect(framer.pendingBytes).toBe(10);
    const rest = framer.push(all.subarray(a.length + b.length + 10));
    expect(rest.messages.map((m) => m.toString())).toEqual([c.toString()]);
    expect(framer.pendingBytes).toBe(0);
  });

  it("gives the same messages whatever way the bytes are split", () => {
    const stream = Buffer.concat([
      message("one"),
      Buffer.from("\r\n\r\n"),
      message("two \u20ac"),
      message(""),
    ]);
    fc.assert(
      fc.property(fc.array(fc.nat({ max: stream.length }), { maxLength: 20 }), (cuts) => {
        const framer = new StreamFramer(65_535);
        const points = [...new Set([0, ...cuts, stream.length])].sort((x, y) => x - y);
        const out: string[] = [];
        let pings = 0;
        for (let i = 1; i < points.length; i++) {
          const result = framer.push(stream.subarray(points[i - 1], points[i]));
          expect(result.error).toBeNull();
          out.push(...result.messages.map((m) => m.toString()));
          pings += result.pings;
        }
        expect(out).toEqual([message("one"), message("two \u20ac"), message("")].map((m) => m.toString()));
        expect(pings).toBeLessThanOrEqual(1);
      }),
      { numRuns: 300 },
    );
  });

  it("counts a double-CRLF keep-alive as a ping", () => {
    const framer = new StreamFramer(65_535);
    expect(framer.push(Buffer.from("\r\n\r\n"))).toMatchObject({ messages: [], pings: 1, error: null });
  });

  it("refuses a stream without Content-Length, with a bad one, or over the size limit", () => {
    const noLength = Buffer.from("OPTIONS sip:a SIP/2.0\r\nVia: SIP/2.0/TCP h\r\n\r\n");
    expect(new StreamFramer(65_535).push(noLength).error).toBe("message without Content-Length");
    const bad = Buffer.from("OPTIONS sip:a SIP/2.0\r\nl: -4\r\n\r\n");
    expect(new StreamFramer(65_535).push(bad).error).toBe("malformed Content-Length");
    expect(new StreamFramer(200).push(message("x".repeat(300))).error).toBe("message too large");
    expect(
      new StreamFramer(100).push(Buffer.from(`OPTIONS sip:a SIP/2.0\r\nX: ${"y".repeat(200)}`)).error,
    ).toBe("header section too large");
  });
});
