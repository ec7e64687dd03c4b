import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  createResponse,
  type SipMessage,
  type SipRequest,
  serializeMessage,
} from "../../src/sip/stack/message.js";
import {
  defaultParserLimits,
  parseContacts,
  parseCSeq,
  parseMessage,
  parseNameAddr,
  parseUri,
  parseVia,
  tagOf,
} from "../../src/sip/stack/parser.js";

const crlf = (text: string) => Buffer.from(text.replace(/\r?\n/g, "\r\n"), "utf8");

function parseOk(raw: Buffer | string): SipMessage {
  const result = parseMessage(typeof raw === "string" ? crlf(raw) : raw);
  if (!result.ok) throw new Error(`expected a message, got: ${result.reason}`);
  return result.message;
}

function parseRejected(raw: Buffer | string) {
  const result = parseMessage(typeof raw === "string" ? crlf(raw) : raw);
  if (result.ok) throw new Error("expected a rejection");
  return result;
}

const register = `REGISTER sip:example.com SIP/2.0
Via: SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bKnashds7;rport
Max-Forwards: 70
To: Bob <sip:bob@example.com>
From: Bob <sip:bob@example.com>;tag=456248
Call-ID: 843817637684230@998sdasdh09
CSeq: 1826 REGISTER
Contact: <sip:bob@192.0.2.4>
Expires: 7200
Content-Length: 0

`;

describe("SIP parser: well-formed messages (RFC 4475 section 3.1.1 style)", () => {
  it("parses a plain REGISTER", () => {
    const message = parseOk(register) as SipRequest;
    expect(message.kind).toBe("request");
    expect(message.method).toBe("REGISTER");
    expect(message.uri).toBe("sip:example.com");
    expect(message.headers.get("call-id")).toBe("843817637684230@998sdasdh09");
    expect(parseCSeq(message.headers.get("cseq") ?? "")).toEqual({ seq: 1826, method: "REGISTER" });
    expect(tagOf(message.headers.get("from"))).toBe("456248");
    expect(tagOf(message.headers.get("to"))).toBeNull();
  });

  it("accepts a short tortuous INVITE: compact forms, folding, odd whitespace, escaped quotes", () => {
    const raw = `INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0
TO :
 sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n
from   : "J Rosenberg \\\\\\""       <sip:jdrosen@example.com>
  ;
  tag = 98asjd8
MaX-fOrWaRdS: 0068
Call-ID: wsinv.ndaksdj@192.0.2.1
Content-Length   : 150
cseq: 0009
  INVITE
Via  : SIP  /   2.0
 /UDP
    192.0.2.2;rport;branch=390skdjuw
s :
NewFangledHeader:   newfangled value
 continued newfangled value
UnknownHeaderWithUnusualValue: ;;,,;;,;
Content-Type: application/sdp
Route:
 <sip:services.example.com;lr;unknownwith=value;unknown-no-value>
v:  SIP  / 2.0  / TCP     spindle.example.com   ;
  branch  =   z9hG4bK9ikj8  ,
 SIP  /    2.0   / UDP  192.168.255.111   ; branch=
 z9hG4bK30239
m:"Quoted string \\"\\"" <sip:jdrosen@example.com> ; newparam =
      newvalue ;
  secondparam ; q = 0.33

v=0
o=mhandley 29739 7272939 IN IP4 192.0.2.3
s=-
c=IN IP4 192.0.2.4
t=0 0
m=audio 49217 RTP/AVP 0 12
m=video 3227 RTP/AVP 31
a=rtpmap:31 LPC
`;
    const message = parseOk(raw) as SipRequest;
    expect(message.method).toBe("INVITE");
    expect(message.body.length).toBe(150);
    expect(message.headers.get("max-forwards")).toBe("0068");
    expect(parseCSeq(message.headers.get("cseq") ?? "")).toEqual({ seq: 9, method: "INVITE" });
    const vias = message.headers.values("via");
    expect(vias).toHaveLength(3);
    expect(parseVia(vias[0] as string)).toMatchObject({
      transport: "UDP",
      host: "192.0.2.2",
      branch: "390skdjuw",
    });
    expect(parseVia(vias[1] as string)).toMatchObject({
      transport: "TCP",
      host: "spindle.example.com",
      branch: "z9hG4bK9ikj8",
    });
    expect(parseVia(vias[2] as string)).toMatchObject({ host: "192.168.255.111", branch: "z9hG4bK30239" });
    expect(message.headers.get("subject")).toBe("");
    expect(message.headers.get("newfangledheader")).toBe("newfangled value continued newfangled value");
    const from = parseNameAddr(message.headers.get("from") ?? "");
    expect(from?.displayName).toBe('J Rosenberg \\"');
    expect(from?.params.get("tag")).toBe("98asjd8");
    expect(tagOf(message.headers.get("to"))).toBe("1918181833n");
    const contacts = parseContacts(message.headers.values("contact"));
    expect(contacts).toMatchObject({ star: false });
    if (contacts && !contacts.star) {
      expect(contacts.contacts[0]?.displayName).toBe('Quoted string ""');
      expect(contacts.contacts[0]?.params.get("q")).toBe("0.33");
      expect(contacts.contacts[0]?.params.get("secondparam")).toBeNull();
    }
  });

  it("accepts unusual methods, reason phrases and escaped URIs", () => {
    const method =
      parseOk(`!interesting-Method0123456789_*+\`.%indeed'~ sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com SIP/2.0
Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+\`'~
To: "BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f" <sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com>
From: token1~\` token2'+_ token3*%!.- <sip:mundane@example.com>;fromParam''~+*_!.-%="\u0440\u0430\u0431\u043e\u0442\u0430\u044e\u0449\u0438\u0439";tag=_token~1'+\`*%!-.
Call-ID: intmeth.word%ZK-!.*_+'@word\`~)(><:\\/"][?}{
CSeq: 139122385 !interesting-Method0123456789_*+\`.%indeed'~
Max-Forwards: 255
Content-Length: 0

`) as SipRequest;
    expect(method.method).toBe("!interesting-Method0123456789_*+`.%indeed'~");
    const response = parseOk(`SIP/2.0 200 = 2**3 * 5**2 \u043d\u043e \u0441\u0442\u043e
Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923
Call-ID: unreason.1234ksdfak3j2erwedfsASdf
CSeq: 35 INVITE
From: sip:user@example.com;tag=11141343
To: sip:user@example.udp.com;tag=2229
Content-Length: 0

`);
    expect(response).toMatchObject({
      kind: "response",
      status: 200,
      reason: "= 2**3 * 5**2 \u043d\u043e \u0441\u0442\u043e",
    });
    const escaped = parseUri("sip:sips%3Auser%40example.com@example.net");
    expect(escaped).toMatchObject({ user: "sips%3Auser%40example.com", host: "example.net" });
  });

  it("counts Content-Length in bytes, not characters, and ignores datagram padding after the body", () => {
    const body = "v=0\r\ns=\u00e9t\u00e9\r\n"; // 4 two-byte characters? no: two, each 2 bytes
    const bytes = Buffer.byteLength(body, "utf8");
    const raw = Buffer.concat([
      crlf(`MESSAGE sip:a@example.com SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKbody
From: <sip:b@example.com>;tag=1
To: <sip:a@example.com>
Call-ID: body@1
CSeq: 1 MESSAGE
Content-Type: text/plain
Content-Length: ${bytes}

`),
      Buffer.from(body, "utf8"),
      Buffer.from("trailing garbage"),
    ]);
    const message = parseOk(raw);
    expect(message.body.toString("utf8")).toBe(body);
    expect(bytes).toBeGreaterThan(body.length);
  });

  it("parses Contact: * and several contacts over several lines with q and expires", () => {
    expect(parseContacts(["*"])).toEqual({ star: true });
    const list = parseContacts([
      '"A, B" <sip:a@192.0.2.1:5060;transport=tcp>;q=0.7;expires=60, <sip:b@[2001:db8::1]:5070>',
      "sip:c@host",
    ]);
    expect(list?.star).toBe(false);
    if (list && !list.star) {
      expect(list.contacts.map((c) => c.uri)).toEqual([
        "sip:a@192.0.2.1:5060;transport=tcp",
        "sip:b@[2001:db8::1]:5070",
        "sip:c@host",
      ]);
      expect(list.contacts[0]?.displayName).toBe("A, B");
      expect(list.contacts[0]?.params.get("expires")).toBe("60");
      expect(list.contacts[0]?.parsedUri.params.get("transport")).toBe("tcp");
      expect(list.contacts[1]?.parsedUri).toMatchObject({ host: "[2001:db8::1]", port: 5070 });
    }
    expect(parseContacts(["*", "<sip:a@b>"])).toBeNull();
  });

  it("reads Via received and rport and the RFC 2543 Via without a branch", () => {
    expect(
      parseVia("SIP/2.0/WSS df7jal23ls0d.invalid;rport=5060;received=192.0.2.9;branch=z9hG4bKx"),
    ).toMatchObject({
      transport: "WSS",
      host: "df7jal23ls0d.invalid",
      port: null,
    });
    const via = parseVia("SIP/2.0/UDP [2001:db8::9]:5062;rport");
    expect(via?.params.has("rport")).toBe(true);
    expect(via?.params.get("rport")).toBeNull();
    expect(via?.branch).toBeNull();
    expect(via?.port).toBe(5062);
  });
});

describe("SIP parser: malformed messages are rejected with a reason (RFC 4475 section 3.1.2 style)", () => {
  const cases: Array<[string, string, number]> = [
    ["missing Call-ID", register.replace("Call-ID: 843817637684230@998sdasdh09\n", ""), 400],
    ["negative Content-Length", register.replace("Content-Length: 0", "Content-Length: -999"), 400],
    [
      "Content-Length larger than the body",
      register.replace("Content-Length: 0", "Content-Length: 5000"),
      400,
    ],
    ["two Content-Length headers", register.replace("Content-Length: 0", "Content-Length: 0\nl: 0"), 400],
    ["CSeq number beyond 2**31-1", register.replace("CSeq: 1826", "CSeq: 36893488147419103232"), 400],
    ["CSeq method mismatch", register.replace("CSeq: 1826 REGISTER", "CSeq: 1826 INVITE"), 400],
    ["unterminated quoted display name", register.replace("To: Bob <", 'To: "Bob <'), 400],
    ["unknown protocol version", register.replace("sip:example.com SIP/2.0", "sip:example.com SIP/7.0"), 505],
    // A client of another SIP version writes that version in its Via as well: still answerable.
    ["another SIP version throughout", register.replaceAll("SIP/2.0", "SIP/3.0"), 505],
    ["malformed Via", register.replace("SIP/2.0/UDP 192.0.2.4:5060", "SIP/2.0/UDP 192.0.2.4:99999"), 400],
    [
      "two From headers",
      register.replace("Max-Forwards: 70", "Max-Forwards: 70\nFrom: <sip:x@y>;tag=9"),
      400,
    ],
    ["header line without a colon", register.replace("Expires: 7200", "Expires 7200"), 400],
    // RFC 3261 section 8.2.2.1: a scheme the server does not serve is 416, not a malformed request.
    [
      "Request-URI with an unknown scheme",
      register.replace("sip:example.com SIP", "http://example.com SIP"),
      416,
    ],
    ["Request-URI that is no URI at all", register.replace("sip:example.com SIP", "example.com SIP"), 400],
    ["Max-Forwards not a number", register.replace("Max-Forwards: 70", "Max-Forwards: seventy"), 400],
  ];
  for (const [name, raw, status] of cases) {
    it(`rejects ${name} (${status})`, () => {
      const result = parseRejected(raw);
      expect(result.status).toBe(status);
      expect(result.reason).not.toBe("");
      // Enough was parsed to answer: the Via is there for the response to follow.
      expect(result.partial?.headers.has("via")).toBe(true);
    });
  }

  it("drops garbage that is not SIP at all without a response", () => {
    for (const raw of [
      "",
      "\r\n\r\n",
      "hello world",
      "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
      "INVITE\r\n\r\n",
      "SIP/2.0 99 x\r\n\r\n",
    ]) {
      const result = parseMessage(Buffer.from(raw));
      expect(result.ok).toBe(false);
    }
  });

  it("enforces size, header count and line length limits", () => {
    const limits = { maxMessageBytes: 2000, maxHeaders: 20, maxLineLength: 300 };
    const huge = crlf(register.replace("Expires: 7200", `X-Pad: ${"a".repeat(3000)}`));
    expect(parseMessage(huge, limits)).toMatchObject({ ok: false, status: 513 });
    const longLine = crlf(register.replace("Expires: 7200", `X-Pad: ${"a".repeat(400)}`));
    expect(parseMessage(longLine, limits)).toMatchObject({ ok: false, reason: "header line too long" });
    const many = crlf(
      register.replace("Expires: 7200", Array.from({ length: 30 }, (_, i) => `X-H${i}: ${i}`).join("\n")),
    );
    expect(parseMessage(many, limits)).toMatchObject({ ok: false, reason: "too many headers" });
    expect(parseMessage(crlf(register), limits).ok).toBe(true);
  });

  it("requires Content-Length on streams", () => {
    const raw = crlf(register.replace("Content-Length: 0\n", ""));
    expect(parseMessage(raw).ok).toBe(true);
    expect(parseMessage(raw, defaultParserLimits, { stream: true })).toMatchObject({ ok: false });
  });
});

describe("SIP serialiser", () => {
  it("round-trips a request and writes the byte length of the body", () => {
    const message = parseOk(register) as SipRequest;
    message.body = Buffer.from("h\u00e9llo", "utf8");
    message.headers.set("Content-Type", "text/plain");
    const again = parseOk(serializeMessage(message)) as SipRequest;
    expect(again.body.toString("utf8")).toBe("h\u00e9llo");
    expect(again.headers.get("content-length")).toBe("6");
    expect(again.headers.values("via")).toEqual(message.headers.values("via"));
  });

  it("builds responses that copy Via, From, Call-ID, CSeq and add a To tag", () => {
    const request = parseOk(register) as SipRequest;
    const response = createResponse(request, 401, { headers: [["WWW-Authenticate", 'Digest realm="x"']] });
    const parsed = parseOk(serializeMessage(response));
    expect(parsed).toMatchObject({ kind: "response", status: 401, reason: "Unauthorized" });
    expect(parsed.headers.get("via")).toBe(request.headers.get("via"));
    expect(tagOf(parsed.headers.get("to"))).toMatch(/.{8,}/);
    expect(parsed.headers.get("www-authenticate")).toBe('Digest realm="x"');
    expect(
      tagOf(
        serializeMessage(createResponse(request, 100))
          .toString()
          .match(/To: .*/)?.[0]
          .slice(4),
      ),
    ).toBeNull();
  });
});

describe("SIP parser properties", () => {
  it("any byte string is parsed or rejected, never thrown", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        const result = parseMessage(Buffer.from(bytes));
        expect(typeof result.ok).toBe("boolean");
      }),
      { numRuns: 2000 },
    );
  });

  it("mutations of a valid message are parsed or rejected, never thrown", () => {
    const base = crlf(register);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: base.length - 1 }), fc.integer({ min: 0, max: 255 })), {
          maxLength: 12,
        }),
        fc.nat({ max: base.length }),
        (edits, cut) => {
          const bytes = Buffer.from(base);
          for (const [at, value] of edits) bytes[at] = value;
          const result = parseMessage(bytes.subarray(0, cut));
          if (result.ok) expect(["request", "response"]).toContain(result.message.kind);
          else expect(typeof result.reason).toBe("string");
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("serialise then parse gives back the same headers and body", () => {
    const token = fc.stringMatching(/^[A-Za-z0-9-]{1,12}$/);
    fc.assert(
      fc.property(
        token,
        fc.array(fc.tuple(token, fc.stringMatching(/^[ -~]{0,40}$/)), { maxLength: 10 }),
        fc.uint8Array({ maxLength: 200 }),
        (user, extra, body) => {
          const request = parseOk(register.replace("bob@192.0.2.4", `${user}@192.0.2.4`)) as SipRequest;
          for (const [name, value] of extra) request.headers.append(`X-${name}`, value.trim());
          request.body = Buffer.from(body);
          if (body.length > 0) request.headers.set("Content-Type", "application/octet-stream");
          const again = parseOk(serializeMessage(request)) as SipRequest;
          expect(Buffer.compare(again.body, request.body)).toBe(0);
          for (const [name, value] of extra)
            expect(again.headers.getAll(`x-${name.toLowerCase()}`)).toContain(value.trim());
        },
      ),
      { numRuns: 500 },
    );
  });
});
