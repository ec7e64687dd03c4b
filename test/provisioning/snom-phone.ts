import { randomBytes } from "node:crypto";
import { request } from "node:http";
import { XMLParser } from "fast-xml-parser";
import { type DigestAlgorithm, digestHa1, digestResponse, parseDigestParams } from "../../src/auth/digest.js";

export interface FetchResult {
  status: number;
  headers: Headers;
  text: string;
  json: Record<string, unknown> | null;
}

export const snomUserAgent = "Mozilla/4.0 (compatible; snom760-SIP 10.1.54.13 1.1.3-s)";

/**
 * A snom phone fetching its settings file: GET without credentials, answer the digest challenge
 * with the configured credential, as the phone's HTTP client does.
 */
export class SnomPhoneClient {
  private nc = 0;

  constructor(
    private readonly baseUrl: string,
    readonly credential: { username: string; password: string; realm: string },
    private readonly options: { userAgent?: string; algorithm?: DigestAlgorithm } = {},
  ) {}

  async raw(path: string, authorization?: string): Promise<FetchResult> {
    const headers: Record<string, string> = { "user-agent": this.options.userAgent ?? snomUserAgent };
    if (authorization) headers.authorization = authorization;
    const response = await fetch(`${this.baseUrl}${path}`, { headers });
    const text = await response.text();
    let json: Record<string, unknown> | null = null;
    if ((response.headers.get("content-type") ?? "").includes("json")) json = JSON.parse(text);
    return { status: response.status, headers: response.headers, text, json };
  }

  /** The challenge of a request without credentials: its nonce for the wanted algorithm. */
  async challenge(path: string): Promise<{ first: FetchResult; nonce: string; realm: string }> {
    const first = await this.raw(path);
    const algorithm = this.options.algorithm ?? "MD5";
    const params = (first.headers.get("www-authenticate") ?? "")
      .split(/,\s*(?=Digest\s)/i)
      .map((value) => parseDigestParams(value))
      .find((p) => p?.get("algorithm")?.toUpperCase() === algorithm);
    const nonce = params?.get("nonce");
    const realm = params?.get("realm");
    if (first.status !== 401 || !nonce || realm === undefined) {
      throw new Error(`expected a digest challenge, got ${first.status} ${first.text}`);
    }
    return { first, nonce, realm };
  }

  authorization(path: string, nonce: string, password = this.credential.password): string {
    const algorithm = this.options.algorithm ?? "MD5";
    this.nc += 1;
    const nc = this.nc.toString(16).padStart(8, "0");
    const cnonce = randomBytes(8).toString("hex");
    const { username, realm } = this.credential;
    const response = digestResponse({
      algorithm,
      ha1: digestHa1(algorithm, username, realm, password),
      method: "GET",
      uri: path,
      nonce,
      qop: "auth",
      nc,
      cnonce,
    });
    return (
      `Digest username="${username}", realm="${realm}", nonce="${nonce}", uri="${path}", ` +
      `algorithm=${algorithm}, qop=auth, nc=${nc}, cnonce="${cnonce}", response="${response}"`
    );
  }

  /** Challenge, then the authenticated GET: what the phone does at boot. */
  async fetchSettings(path: string, password?: string): Promise<FetchResult> {
    const { nonce } = await this.challenge(path);
    return this.raw(path, this.authorization(path, nonce, password));
  }
}

/** The settings file read back: each setting's text and attributes, by name. */
export interface ParsedSetting {
  value: string;
  perm: string | undefined;
  idx: string | undefined;
}

export function parseSettingsXml(xml: string): Map<string, ParsedSetting[]> {
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: "@_",
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: false,
    isArray: () => true,
  });
  const document = parser.parse(xml, true) as {
    settings: Array<{ "phone-settings": Array<Record<string, unknown>> }>;
  };
  const phoneSettings = document.settings[0]?.["phone-settings"][0] ?? {};
  const settings = new Map<string, ParsedSetting[]>();
  for (const [name, entries] of Object.entries(phoneSettings)) {
    if (name.startsWith("@_") || name === "#text") continue;
    settings.set(
      name,
      (entries as Array<Record<string, unknown> | string>).map((entry) => {
        if (typeof entry === "string") return { value: entry, perm: undefined, idx: undefined };
        const attribute = (key: string) => {
          const value = entry[key];
          return Array.isArray(value) ? String(value[0]) : value === undefined ? undefined : String(value);
        };
        const text = entry["#text"];
        return {
          value: Array.isArray(text) ? String(text[0]) : text === undefined ? "" : String(text),
          perm: attribute("@_perm"),
          idx: attribute("@_idx"),
        };
      }),
    );
  }
  return settings;
}

/** One setting's value, failing loudly when the file lacks it or has it twice. */
export function setting(settings: Map<string, ParsedSetting[]>, name: string): ParsedSetting {
  const entries = settings.get(name) ?? [];
  if (entries.length !== 1) throw new Error(`the settings file has ${entries.length} ${name}`);
  return entries[0] as ParsedSetting;
}

/** A request line sent as it is, for paths a fetch() client would normalise or encode. */
export function rawGet(baseUrl: string, path: string): Promise<{ status: number; body: string }> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method: "GET" }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}
