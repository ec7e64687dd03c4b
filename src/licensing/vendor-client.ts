import type { KeyObject } from "node:crypto";
import type { Clock } from "../clock.js";
import { ids } from "../ids.js";
import { type VendorAnswer, vendorAnswerSchema } from "./schemas.js";
import { ed25519Verify, vendorSignedMessage } from "./signatures.js";

export interface VendorRequest {
  licenseKey: string;
  fingerprint: string;
}

/** A vendor answer whose signature, freshness and nonce were checked. */
export interface VerifiedAnswer {
  answer: VendorAnswer;
  receivedAt: Date;
}

/**
 * Why a vendor call gave no usable answer. `retryable` failures (network, timeout, 5xx) are
 * tried again; every kind counts against the circuit breaker, and none is ever cached.
 */
export type VendorFailureKind =
  | "unreachable"
  | "timeout"
  | "server-error"
  | "refused"
  | "redirected"
  | "rate-limited"
  | "bad-signature"
  | "stale-answer"
  | "malformed-answer";

export class VendorFailure extends Error {
  constructor(
    readonly kind: VendorFailureKind,
    message: string,
    /** For "rate-limited": when the vendor said it may be asked again (its Retry-After). */
    readonly retryAt: Date | null = null,
  ) {
    super(message);
    this.name = "VendorFailure";
  }
  get retryable(): boolean {
    return this.kind === "unreachable" || this.kind === "timeout" || this.kind === "server-error";
  }
}

/** The one interface a vendor adapter implements. */
export interface LicenseVendor {
  readonly url: string;
  validate(request: VendorRequest): Promise<VerifiedAnswer>;
}

export interface HttpVendorOptions {
  vendorUrl: string;
  vendorPublicKey: KeyObject;
  timeoutMs: number;
  maxClockSkewSeconds: number;
  clock: Clock;
}

export const signatureHeader = "license-signature";

/**
 * The default adapter: the JSON protocol of docs/license-protocol.md over node's fetch.
 * One call is one attempt; retries and the breaker are ResilientVendor's.
 */
export class HttpLicenseVendor implements LicenseVendor {
  private readonly endpoint: URL;

  constructor(private readonly options: HttpVendorOptions) {
    const base = options.vendorUrl.endsWith("/") ? options.vendorUrl : `${options.vendorUrl}/`;
    this.endpoint = new URL("licenses/validate", base);
  }

  get url(): string {
    return this.options.vendorUrl;
  }

  async validate(request: VendorRequest): Promise<VerifiedAnswer> {
    const nonce = ids.secret(18);
    let response: Response;
    let body: Buffer;
    try {
      response = await fetch(this.endpoint, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({ key: request.licenseKey, fingerprint: request.fingerprint, nonce }),
        signal: AbortSignal.timeout(this.options.timeoutMs),
        // A redirect is read as the answer it is (a refusal), not followed and not taken for a
        // network error: "error" made fetch throw, which looked like an outage and was retried.
        redirect: "manual",
      });
      body = Buffer.from(await response.arrayBuffer());
    } catch (error) {
      const name = (error as Error).name;
      if (name === "TimeoutError" || name === "AbortError") {
        throw new VendorFailure("timeout", `no answer within ${this.options.timeoutMs} ms`);
      }
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      throw new VendorFailure("unreachable", `cannot reach the vendor${cause ? ` (${cause})` : ""}`);
    }
    if (response.status >= 500)
      throw new VendorFailure("server-error", `the vendor answered ${response.status}`);
    if (response.status >= 300 && response.status < 400) {
      const location = response.headers.get("location");
      throw new VendorFailure(
        "redirected",
        `the vendor answered ${response.status}, a redirect${location ? ` to ${location.slice(0, 200)}` : ""}; redirects are not followed (check license.vendorUrl)`,
      );
    }
    if (response.status === 429) {
      const retryAt = retryAfter(response.headers.get("retry-after"), this.options.clock.now());
      throw new VendorFailure(
        "rate-limited",
        `the vendor answered 429 (too many requests)${retryAt ? `; it is not asked again before ${retryAt.toISOString()}` : ""}`,
        retryAt,
      );
    }
    if (response.status !== 200) throw new VendorFailure("refused", `the vendor answered ${response.status}`);

    const receivedAt = this.options.clock.now();
    this.verifySignature(response.headers, body, receivedAt);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString("utf8"));
    } catch {
      throw new VendorFailure("malformed-answer", "the vendor's answer is not JSON");
    }
    const result = vendorAnswerSchema.safeParse(parsed);
    if (!result.success) {
      const issue = result.error.issues[0];
      throw new VendorFailure(
        "malformed-answer",
        `the vendor's answer does not follow the protocol (${issue?.path.join(".") ?? ""}: ${issue?.message ?? ""})`,
      );
    }
    const answer = result.data;
    // A signed answer to some other request (a replay within the skew window) carries another nonce.
    if (answer.nonce !== nonce)
      throw new VendorFailure("stale-answer", "the vendor's answer is for another request");
    if (answer.license && answer.license.key !== request.licenseKey) {
      throw new VendorFailure("malformed-answer", "the vendor's answer is about another license key");
    }
    return { answer, receivedAt };
  }

  private verifySignature(headers: Headers, body: Buffer, now: Date): void {
    const date = headers.get("date");
    const signature = headers.get(signatureHeader);
    if (!date || !signature) throw new VendorFailure("bad-signature", "the vendor's answer is not signed");
    const message = vendorSignedMessage(date, this.endpoint.pathname, body);
    if (!ed25519Verify(this.options.vendorPublicKey, message, signature.trim())) {
      throw new VendorFailure("bad-signature", "the vendor's signature does not verify");
    }
    const sent = Date.parse(date);
    if (Number.isNaN(sent))
      throw new VendorFailure("bad-signature", "the vendor's Date header is not a date");
    const skewSeconds = Math.abs(now.getTime() - sent) / 1000;
    if (skewSeconds > this.options.maxClockSkewSeconds) {
      throw new VendorFailure(
        "stale-answer",
        `the vendor's answer is dated ${date}, ${Math.round(skewSeconds)} s from this server's clock`,
      );
    }
  }
}

/** Retry-After (RFC 9110 section 10.2.3): seconds or an HTTP date; null when absent or unreadable. */
function retryAfter(value: string | null, now: Date): Date | null {
  if (value === null) return null;
  const text = value.trim();
  if (/^\d{1,9}$/.test(text)) return new Date(now.getTime() + Number(text) * 1000);
  const date = Date.parse(text);
  return Number.isNaN(date) ? null : new Date(Math.max(date, now.getTime()));
}
