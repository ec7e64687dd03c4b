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

  private text(
    extra: string[],
    contact: string | null,
    expires: number | string | null,
    requestUri = `sip:${this.domain}`,
  ): string {
    this.cseq++;
    const transport = this.client.transport.toUpperCase();
    return [
      `REGISTER ${requestUri} SIP/2.0`,
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
      expires?: number | string | null;
      algorithm?: DigestAlgorithm;
      password?: string;
      reuseNonce?: boolean;
      /** The Request-URI (default sip:<domain>); the digest covers it unless digestUri says otherwise. */
      requestUri?: string;
      digestUri?: string;
      /** Further header lines of both REGISTERs. */
      extra?: string[];
    } = {},
  ): Promise<SipResponse> {
    const requestUri = options.requestUri ?? `sip:${this.domain}`;
    const extra = options.extra ?? [];
    const contact =
      options.contact === undefined
        ? `<sip:${this.username}@127.0.0.1:${this.client.localPort}>`
        : options.contact;
    const expires = options.expires === undefined ? 600 : options.expires;
    if (!(options.reuseNonce && this.lastChallenge)) {
      this.client.send(this.text(extra, contact, expires, requestUri));
      const first = await this.client.response();
      if (first.status !== 401) return first;
      this.lastChallenge = this.pickChallenge(first, options.algorithm ?? "MD5");
      this.nc = 0;
    }
    this.client.send(this.authorized(options, contact, expires, requestUri, extra));
    return this.client.response();
  }

  /** The text of a REGISTER answering the last challenge (for pipelining several at once). */
  authorized(
    options: { password?: string; algorithm?: DigestAlgorithm; digestUri?: string },
    contact: string | null,
    expires: number | string | null,
    requestUri = `sip:${this.domain}`,
    extra: string[] = [],
  ): string {
    return this.text(
      [
        ...extra,
        this.authorization(
          options.password ?? this.password,
          options.algorithm ?? "MD5",
          options.digestUri ?? requestUri,
        ),
      ],
      contact,
      expires,
      requestUri,
    );
  }

  /** Takes a challenge without registering: the first REGISTER of a round, answered 401. */
  async challenge(algorithm: DigestAlgorithm = "MD5"): Promise<void> {
    this.client.send(this.text([], null, null));
    const first = await this.client.response();
    if (first.status !== 401) throw new Error(`expected 401, got ${first.status}`);
    this.lastChallenge = this.pickChallenge(first, algorithm);
    this.nc = 0;
  }

  private pickChallenge(response: SipResponse, algorithm: DigestAlgorithm): string {
    const challenges = response.headers.getAll("www-authenticate");
    const found = challenges.find((c) => parseDigestParams(c)?.get("algorithm")?.toUpperCase() === algorithm);
    if (!found) throw new Error(`no ${algorithm} challenge in ${challenges.join(" | ")}`);
    return found;
  }

  private authorization(password: string, algorithm: DigestAlgorithm, uri: string): string {
    const params = parseDigestParams(this.lastChallenge ?? "");
    const nonce = params?.get("nonce") ?? "";
    const realm = params?.get("realm") ?? "";
    this.nc++;
    const nc = this.nc.toString(16).padStart(8, "0");
    const cnonce = Math.random().toString(36).slice(2);
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
