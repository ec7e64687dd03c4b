import { createSocket, type Socket } from "node:dgram";
import { digestHa1, digestResponse, parseDigestParams } from "../../../src/auth/digest.js";
import type { SipMessage, SipRequest, SipResponse } from "../../../src/sip/stack/message.js";
import { branch, TestSipClient } from "./client.js";
import { TestRegistrar } from "./register.js";

const crlf = "\r\n";

/** An SDP offer for one audio stream. */
export function offer(rtpPort: number, payloads: number[]): string {
  return [
    "v=0",
    "o=test 1 1 IN IP4 127.0.0.1",
    "s=-",
    "c=IN IP4 127.0.0.1",
    "t=0 0",
    `m=audio ${rtpPort} RTP/AVP ${payloads.join(" ")}`,
    ...payloads.map((pt) => `a=rtpmap:${pt} ${pt === 0 ? "PCMU" : pt === 8 ? "PCMA" : "G729"}/8000`),
    "",
  ].join(crlf);
}

/** Where RTP arrives in a test: every packet, in order of arrival. */
export class RtpReceiver {
  readonly packets: Buffer[] = [];
  private constructor(
    private readonly socket: Socket,
    readonly port: number,
  ) {}

  static async open(): Promise<RtpReceiver> {
    const socket = createSocket("udp4");
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", () => resolve()));
    const receiver = new RtpReceiver(socket, socket.address().port);
    socket.on("message", (packet) => receiver.packets.push(packet));
    return receiver;
  }

  close(): void {
    this.socket.close();
  }
}

export interface OutgoingCall {
  callId: string;
  fromTag: string;
  cseq: number;
  branch: string;
  text: string;
}

/**
 * A test phone on UDP: registers, calls with proxy authentication (407 then credentials), and
 * answers what the proxy sends it. Enough SIP to drive the router without a real softphone.
 */
export class TestPhone {
  private constructor(
    readonly client: TestSipClient,
    readonly username: string,
    readonly password: string,
    readonly domain: string,
  ) {}

  static async register(
    target: { address: string; port: number },
    username: string,
    password: string,
    domain = "127.0.0.1",
  ): Promise<TestPhone> {
    const client = await TestSipClient.udp(target);
    const phone = new TestPhone(client, username, password, domain);
    const response = await new TestRegistrar(client, username, password, domain).register();
    if (response.status !== 200) throw new Error(`${username} did not register: ${response.status}`);
    return phone;
  }

  /** A phone that does not register (a caller only). */
  static async caller(
    target: { address: string; port: number },
    username: string,
    password: string,
    domain = "127.0.0.1",
  ): Promise<TestPhone> {
    return new TestPhone(await TestSipClient.udp(target), username, password, domain);
  }

  get contact(): string {
    return `<sip:${this.username}@127.0.0.1:${this.client.localPort}>`;
  }

  private requestText(
    method: string,
    uri: string,
    call: { callId: string; fromTag: string; cseq: number; branch: string; to: string },
    extra: string[],
    body = "",
  ): string {
    return [
      `${method} ${uri} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${this.client.localPort};branch=${call.branch};rport`,
      "Max-Forwards: 70",
      `From: <sip:${this.username}@${this.domain}>;tag=${call.fromTag}`,
      `To: ${call.to}`,
      `Call-ID: ${call.callId}`,
      `CSeq: ${call.cseq} ${method}`,
      `Contact: ${this.contact}`,
      ...extra,
      ...(body ? ["Content-Type: application/sdp"] : []),
      `Content-Length: ${Buffer.byteLength(body)}`,
      "",
      body,
    ].join(crlf);
  }

  /**
   * INVITE (or MESSAGE) to a user: the first attempt is challenged with 407, ACKed, and repeated
   * with credentials. Returns the authenticated attempt, whose responses the test then reads.
   */
  async call(
    callee: string,
    options: { body?: string; method?: string; domain?: string; password?: string; extra?: string[] } = {},
  ): Promise<OutgoingCall> {
    const method = options.method ?? "INVITE";
    const uri = `sip:${callee}@${options.domain ?? this.domain}`;
    const call = {
      callId: `call-${Math.random().toString(36).slice(2)}`,
      fromTag: `ft${Math.random().toString(36).slice(2, 8)}`,
      cseq: 1,
      branch: branch(),
      to: `<${uri}>`,
    };
    this.client.send(this.requestText(method, uri, call, options.extra ?? [], options.body));
    const challenge = await this.client.response(407);
    if (method === "INVITE") this.ackNon2xx(uri, call, challenge);
    const params = parseDigestParams(
      challenge.headers.getAll("proxy-authenticate").find((c) => /algorithm=MD5/i.test(c)) ?? "",
    );
    const realm = params?.get("realm") ?? "";
    const nonce = params?.get("nonce") ?? "";
    const cnonce = Math.random().toString(36).slice(2);
    const response = digestResponse({
      algorithm: "MD5",
      ha1: digestHa1("MD5", this.username, realm, options.password ?? this.password),
      method,
      uri,
      nonce,
      qop: "auth",
      nc: "00000001",
      cnonce,
    });
    const second = { ...call, cseq: 2, branch: branch() };
    const text = this.requestText(
      method,
      uri,
      second,
      [
        `Proxy-Authorization: Digest username="${this.username}", realm="${realm}", nonce="${nonce}", uri="${uri}", response="${response}", algorithm=MD5, qop=auth, nc=00000001, cnonce="${cnonce}"`,
        ...(options.extra ?? []),
      ],
      options.body,
    );
    this.client.send(text);
    return { callId: call.callId, fromTag: call.fromTag, cseq: 2, branch: second.branch, text };
  }

  /** The ACK of a non-2xx final (same branch, the To of the response). */
  ackNon2xx(
    uri: string,
    call: { callId: string; fromTag: string; cseq: number; branch: string },
    response: SipResponse,
  ): void {
    this.client.send(
      [
        `ACK ${uri} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${this.client.localPort};branch=${call.branch};rport`,
        "Max-Forwards: 70",
        `From: <sip:${this.username}@${this.domain}>;tag=${call.fromTag}`,
        `To: ${response.headers.get("to")}`,
        `Call-ID: ${call.callId}`,
        `CSeq: ${call.cseq} ACK`,
        "Content-Length: 0",
        "",
        "",
      ].join(crlf),
    );
  }

  /** An in-dialog request along the route set a 2xx gave (ACK, BYE): Request-URI = the peer's Contact. */
  inDialog(method: string, answer: SipResponse, call: OutgoingCall, cseq: number): void {
    const routes = answer.headers.values("record-route").reverse();
    const target = /<([^>]+)>/.exec(answer.headers.get("contact") ?? "")?.[1] ?? "";
    this.client.send(
      [
        `${method} ${target} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${this.client.localPort};branch=${branch()};rport`,
        ...routes.map((route) => `Route: ${route}`),
        "Max-Forwards: 70",
        `From: <sip:${this.username}@${this.domain}>;tag=${call.fromTag}`,
        `To: ${answer.headers.get("to")}`,
        `Call-ID: ${call.callId}`,
        `CSeq: ${cseq} ${method}`,
        "Content-Length: 0",
        "",
        "",
      ].join(crlf),
    );
  }

  async nextRequest(method: string, timeoutMs = 3000): Promise<SipRequest> {
    return (await this.client.next(
      (m: SipMessage) => m.kind === "request" && m.method === method,
      timeoutMs,
    )) as SipRequest;
  }

  /** Answers a request the proxy sent this phone. */
  reply(
    request: SipRequest,
    status: number,
    reason: string,
    options: { toTag?: string; body?: string } = {},
  ): void {
    const to = request.headers.get("to") ?? "";
    this.client.send(
      [
        `SIP/2.0 ${status} ${reason}`,
        ...request.headers.values("via").map((via) => `Via: ${via}`),
        ...request.headers.values("record-route").map((route) => `Record-Route: ${route}`),
        `From: ${request.headers.get("from")}`,
        `To: ${options.toTag && !/;tag=/.test(to) ? `${to};tag=${options.toTag}` : to}`,
        `Call-ID: ${request.headers.get("call-id")}`,
        `CSeq: ${request.headers.get("cseq")}`,
        `Contact: ${this.contact}`,
        ...(options.body ? ["Content-Type: application/sdp"] : []),
        `Content-Length: ${Buffer.byteLength(options.body ?? "")}`,
        "",
        options.body ?? "",
      ].join(crlf),
    );
  }

  close(): void {
    this.client.close();
  }
}
