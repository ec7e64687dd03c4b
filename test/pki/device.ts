import { randomBytes, webcrypto } from "node:crypto";
import { type DigestAlgorithm, digestHa1, digestResponse, parseDigestParams } from "../../src/auth/digest.js";
import { x509 } from "../../src/pki/x509.js";

export interface DeviceAnswer {
  status: number;
  headers: Headers;
  json: Record<string, unknown>;
  text: string;
}

/**
 * A client device calling the PKI's endpoints with its SIP credentials (HTTP digest): it takes
 * the challenge of a first unauthenticated request, then answers it, as an app would.
 */
export class DigestDevice {
  constructor(
    private readonly baseUrl: string,
    readonly username: string,
    private readonly password: string,
    readonly sipDomain: string,
    private readonly algorithm: DigestAlgorithm = "SHA-256",
  ) {}

  private async send(
    method: string,
    path: string,
    body: unknown,
    authorization?: string,
  ): Promise<DeviceAnswer> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers["content-type"] = "application/json";
    if (authorization) headers.authorization = authorization;
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // not JSON
    }
    return { status: response.status, headers: response.headers, json, text };
  }

  /** One request: unauthenticated first (for the challenge), then with the digest answer. */
  async request(
    method: string,
    path: string,
    body?: unknown,
    password = this.password,
  ): Promise<DeviceAnswer> {
    const first = await this.send(method, path, body);
    if (first.status !== 401) return first;
    const header = first.headers.get("www-authenticate") ?? "";
    const params = header
      .split(/,\s*(?=Digest\s)/i)
      .map((value) => parseDigestParams(value))
      .find((candidate) => candidate?.get("algorithm")?.toUpperCase() === this.algorithm);
    const nonce = params?.get("nonce");
    const realm = params?.get("realm");
    if (!nonce || realm === undefined) return first;
    const nc = "00000001";
    const cnonce = randomBytes(8).toString("hex");
    const response = digestResponse({
      algorithm: this.algorithm,
      ha1: digestHa1(this.algorithm, this.username, realm, password),
      method,
      uri: path,
      nonce,
      qop: "auth",
      nc,
      cnonce,
    });
    const authorization =
      `Digest username="${this.username}", realm="${realm}", nonce="${nonce}", uri="${path}", ` +
      `algorithm=${this.algorithm}, qop=auth, nc=${nc}, cnonce="${cnonce}", response="${response}"`;
    return this.send(method, path, body, authorization);
  }

  rekey(csr: string, reason: string) {
    return this.request("POST", "/client/rekey", { sipDomain: this.sipDomain, csr, reason });
  }

  keysOf(username: string, sipDomain = this.sipDomain) {
    return this.request("GET", `/pki/keys/${username}?sipDomain=${encodeURIComponent(sipDomain)}`);
  }
}

export type CsrKey = "P-256" | "P-384" | "RSA-2048" | "RSA-1024";

/** A real CSR made the way a client makes one: its key stays here. */
export async function makeCsr(
  key: CsrKey = "P-256",
  options: { name?: string; sans?: string[] } = {},
): Promise<string> {
  const algorithm =
    key === "P-256" || key === "P-384"
      ? { name: "ECDSA", namedCurve: key, hash: key === "P-256" ? "SHA-256" : "SHA-384" }
      : {
          name: "RSASSA-PKCS1-v1_5",
          hash: "SHA-256",
          modulusLength: key === "RSA-2048" ? 2048 : 1024,
          publicExponent: new Uint8Array([1, 0, 1]),
        };
  const keys = (await webcrypto.subtle.generateKey(algorithm, false, [
    "sign",
    "verify",
  ])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: options.name ?? "CN=client",
    keys,
    signingAlgorithm: algorithm,
    extensions: options.sans
      ? [
          new x509.SubjectAlternativeNameExtension(
            options.sans.map((value) => ({ type: "dns" as const, value })),
          ),
        ]
      : [],
  });
  return csr.toString("pem");
}
