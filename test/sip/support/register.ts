import {
  type DigestAlgorithm,
  digestHa1,
  digestResponse,
  parseDigestParams,
} from "../../../src/auth/digest.js";
import type { SipResponse } from "../../../src/sip/stack/message.js";
import { branch, type TestSipClient } from "./client.js";

/**
 * A registering user agent of our own: REGISTER, answer the 401 with MD5 or SHA-256 digest
 * (neither sipp nor baresip does SHA-256), and report the final response.
 */
export class TestRegistrar {
  private cseq = 0;
  readonly callId = `reg-${Math.random().toString(36).slice(2)}@127.0.0.1`;
  private nc = 0;
  private lastChallenge: string | undefined;

  constructor(
    readonly client: TestSipClient,
    readonly username: string,
    readonly password: string,
    readonly domain: string,
  ) {}

  private text(extra: string[], contact: string | null, expires: number | null): string {
    this.cseq++;
    const transport = this.client.transport.toUpperCase();
    return [
      `REGISTER sip:${this.domain} SIP/2.0`,
      `Via: SIP/2.0/${transport} 127.0.0.1:${this.client.localPort};branch=${branch()};rport`,
      "Max-Forwards: 70",
      `From: <sip:${this.username}@${this.domain}>;tag=${this.callId.slice(4, 12)}`,
      `To: <sip:${this.username}@${this.domain}>`,
      `Call-ID: ${this.callId}`,
      `CSeq: ${this.cseq} REGISTER`,
      ...(contact === null ? [] : [`Contact: ${contact}`]),
      ...(expires === null ? [] : [`Expires: ${expires}`]),
      "User-Agent: provisiond-test",
      ...extra,
      "Content-Length: 0",
      "",
      "",
    ].join("\r\n");
  }

  /** One REGISTER round, answering a challenge once. */
  async register(
    options: {
      contact?: string | null;
      expires?: number | null;
      algorithm?: DigestAlgorithm;
      password?: string;
      reuseNonce?: boolean;
    } = {},
  ): Promise<SipResponse> {
    const contact =
      options.contact === undefined
        ? `<sip:${this.username}@127.0.0.1:${this.client.localPort}>`
        : options.contact;
    const expires = options.expires === undefined ? 600 : options.expires;
    if (!(options.reuseNonce && this.lastChallenge)) {
      this.client.send(this.text([], contact, expires));
      const first = await this.client.response();
      if (first.status !== 401) return first;
      this.lastChallenge = this.pickChallenge(first, options.algorithm ?? "MD5");
      this.nc = 0;
    }
    this.client.send(
      this.text(
        [this.authorization(options.password ?? this.password, options.algorithm ?? "MD5")],
        contact,
        expires,
      ),
    );
    return this.client.response();
  }

  private pickChallenge(response: SipResponse, algorithm: DigestAlgorithm): string {
    const challenges = response.headers.getAll("www-authenticate");
    const found = challenges.find((c) => parseDigestParams(c)?.get("algorithm")?.toUpperCase() === algorithm);
    if (!found) throw new Error(`no ${algorithm} challenge in ${challenges.join(" | ")}`);
    return found;
  }

  private authorization(password: string, algorithm: DigestAlgorithm): string {
    const params = parseDigestParams(this.lastChallenge ?? "");
    const nonce = params?.get("nonce") ?? "";
    const realm = params?.get("realm") ?? "";
    this.nc++;
    const nc = this.nc.toString(16).padStart(8, "0");
    const cnonce = Math.random().toString(36).slice(2);
    const uri = `sip:${this.domain}`;
    const response = digestResponse({
      algorithm,
      ha1: digestHa1(algorithm, this.username, realm, password),
      method: "REGISTER",
      uri,
      nonce,
      qop: "auth",
      nc,
      cnonce,
    });
    return `Authorization: Digest username="${this.username}", realm="${realm}", nonce="${nonce}", uri="${uri}", response="${response}", algorithm=${algorithm}, qop=auth, nc=${nc}, cnonce="${cnonce}"`;
  }
}
