import { randomBytes } from "node:crypto";
import { type DigestAlgorithm, digestHa1, digestResponse, parseDigestParams } from "../../src/auth/digest.js";

export interface CheckResult {
  status: number;
  headers: Headers;
  /** The body exactly as received, what the envelope signature covers. */
  bytes: Buffer;
  json: Record<string, unknown>;
}

/**
 * A device asking POST /license/check with its SIP credentials: takes the digest challenge,
 * then reuses the nonce with increasing nonce-counts, as a real client would.
 */
export class LicenseCheckClient {
  private nonce: string | null = null;
  private nc = 0;

  constructor(
    private readonly baseUrl: string,
    readonly username: string,
    private readonly password: string,
    readonly sipDomain: string,
    private readonly algorithm: DigestAlgorithm = "SHA-256",
  ) {}

  /** One raw request with the given Authorization (or none). */
  async post(body: unknown, authorization?: string, rawBody?: string): Promise<CheckResult> {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (authorization) headers.authorization = authorization;
    const response = await fetch(`${this.baseUrl}/license/check`, {
      method: "POST",
      headers,
      body: rawBody ?? JSON.stringify(body),
    });
    const bytes = Buffer.from(await response.arrayBuffer());
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(bytes.toString("utf8")) as Record<string, unknown>;
    } catch {
      // not JSON: tests look at status and bytes
    }
    return { status: response.status, headers: response.headers, bytes, json };
  }

  /** The Authorization header for the next request with the current nonce. */
  authorization(password = this.password, uri = "/license/check"): string {
    if (!this.nonce) throw new Error("no nonce yet");
    this.nc += 1;
    const nc = this.nc.toString(16).padStart(8, "0");
    const cnonce = randomBytes(8).toString("hex");
    const ha1 = digestHa1(this.algorithm, this.username, this.sipDomain, password);
    const response = digestResponse({
      algorithm: this.algorithm,
      ha1,
      method: "POST",
      uri,
      nonce: this.nonce,
      qop: "auth",
      nc,
      cnonce,
    });
    return (
      `Digest username="${this.username}", realm="${this.sipDomain}", nonce="${this.nonce}", uri="${uri}", ` +
      `algorithm=${this.algorithm}, qop=auth, nc=${nc}, cnonce="${cnonce}", response="${response}"`
    );
  }

  /** Takes a fresh nonce from a 401 challenge. */
  async challenge(body: unknown = { sipDomain: this.sipDomain }): Promise<CheckResult> {
    const result = await this.post(body);
    const header = result.headers.get("www-authenticate") ?? "";
    // Several challenges arrive joined by ", "; each starts with "Digest ".
    const wanted = header
      .split(/,\s*(?=Digest\s)/i)
      .map((value) => parseDigestParams(value))
      .find((params) => params?.get("algorithm")?.toUpperCase() === this.algorithm);
    const nonce = wanted?.get("nonce");
    if (result.status !== 401 || !nonce) throw new Error(`expected a digest challenge, got ${result.status}`);
    this.nonce = nonce;
    this.nc = 0;
    return result;
  }

  /** A complete check: challenge when needed, then the authenticated request. */
  async check(body: Record<string, unknown> = {}): Promise<CheckResult> {
    const full = { sipDomain: this.sipDomain, ...body };
    if (!this.nonce) await this.challenge(full);
    let result = await this.post(full, this.authorization());
    if (result.status === 401 && /stale=true/i.test(result.headers.get("www-authenticate") ?? "")) {
      await this.challenge(full);
      result = await this.post(full, this.authorization());
    }
    return result;
  }
}
