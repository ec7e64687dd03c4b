import { generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { vendorSignedMessage } from "../../src/licensing/signatures.js";

/** How the simulated vendor answers the next requests. */
export type VendorBehaviour =
  | "valid"
  | "expired"
  | "suspended"
  | "banned"
  | "slow"
  | "error500"
  | "badSignature"
  | "unsigned"
  | "replayOld"
  | "skewed"
  | "wrongNonce"
  /** 302 to another URL. */
  | "redirect"
  /** 429 with Retry-After: retryAfterSeconds. */
  | "rateLimited"
  /** A signed answer with a code the proxy does not know (newCode). */
  | "unknownCode";

export interface VendorRequestLog {
  path: string;
  body: { key: string; fingerprint: string; nonce: string };
}

/**
 * A vendor license server on 127.0.0.1, speaking docs/license-protocol.md and signing with a test
 * key. `now` is the clock its Date header uses (the proxy's test clock), shifted by `skewMs`.
 */
export class VendorSimulator {
  readonly privateKey: KeyObject;
  readonly publicKeyPem: string;
  behaviour: VendorBehaviour = "valid";
  /** Behaviours for the next requests, one each, before `behaviour` applies again. */
  readonly upcoming: VendorBehaviour[] = [];
  /** Seconds of TTL the vendor gives; undefined leaves the proxy's default. */
  ttl: number | undefined = 3600;
  expiry: string | null = "2027-12-31T00:00:00.000Z";
  slowMs = 1000;
  retryAfterSeconds = 120;
  newCode = "QUOTA_EXCEEDED";
  skewMs = 0;
  readonly requests: VendorRequestLog[] = [];
  /** Every signed answer sent, so a test can replay one. */
  private readonly sent: Array<{ date: string; body: string; signature: string }> = [];
  private server: Server | null = null;
  private port = 0;
  private readonly sockets = new Set<import("node:net").Socket>();

  constructor(private readonly now: () => Date) {
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    this.privateKey = privateKey;
    this.publicKeyPem = publicKey.export({ type: "spki", format: "pem" }).toString();
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/vendor-api`;
  }

  /** Listens (again, on the same port after stop()); does nothing while listening. */
  async start(): Promise<void> {
    if (this.server) return;
    this.server = createServer((req, res) => {
      void this.handle(req, res);
    });
    this.server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
    const server = this.server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", resolve);
    });
    this.port = (server.address() as AddressInfo).port;
  }

  /** Closes the port: calls are refused until start() listens on it again. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const request = JSON.parse(Buffer.concat(chunks).toString("utf8")) as VendorRequestLog["body"];
    const path = req.url ?? "/";
    this.requests.push({ path, body: request });
    if (path !== "/vendor-api/licenses/validate" || req.method !== "POST") {
      res.writeHead(404).end();
      return;
    }
    const behaviour = this.upcoming.shift() ?? this.behaviour;
    if (behaviour === "error500") {
      res.writeHead(500, { "content-type": "application/json" }).end('{"error":"internal"}');
      return;
    }
    if (behaviour === "redirect") {
      res.writeHead(302, { location: "https://vendor.example.net/elsewhere" }).end();
      return;
    }
    if (behaviour === "rateLimited") {
      res.writeHead(429, { "retry-after": String(this.retryAfterSeconds) }).end();
      return;
    }
    if (behaviour === "slow") await new Promise((resolve) => setTimeout(resolve, this.slowMs));
    if (behaviour === "replayOld") {
      const old = this.sent[0];
      if (!old) throw new Error("nothing to replay yet");
      this.send(res, old.date, old.body, old.signature);
      return;
    }
    const code =
      behaviour === "expired"
        ? "EXPIRED"
        : behaviour === "suspended"
          ? "SUSPENDED"
          : behaviour === "banned"
            ? "BANNED"
            : behaviour === "unknownCode"
              ? this.newCode
              : "VALID";
    const body = JSON.stringify({
      valid: code === "VALID",
      code,
      detail: code === "VALID" ? null : `license ${code.toLowerCase()}`,
      nonce: behaviour === "wrongNonce" ? "another-request" : request.nonce,
      ...(this.ttl !== undefined ? { ttl: this.ttl } : {}),
      license: {
        key: request.key,
        status: code === "VALID" ? "ACTIVE" : code,
        expiry: this.expiry,
        entitlements: ["calls", "messages"],
        maxDevices: 3,
      },
    });
    const dateMs = this.now().getTime() + (behaviour === "skewed" ? this.skewMs : 0);
    const date = new Date(dateMs).toUTCString();
    let signature = sign(null, vendorSignedMessage(date, path, Buffer.from(body)), this.privateKey).toString(
      "base64",
    );
    if (behaviour === "badSignature") {
      const other = generateKeyPairSync("ed25519").privateKey;
      signature = sign(null, vendorSignedMessage(date, path, Buffer.from(body)), other).toString("base64");
    }
    if (behaviour === "unsigned") signature = "";
    this.sent.push({ date, body, signature });
    this.send(res, date, body, signature);
  }

  private send(res: ServerResponse, date: string, body: string, signature: string): void {
    const headers: Record<string, string> = { "content-type": "application/json", date };
    if (signature) headers["license-signature"] = signature;
    res.sendDate = false;
    res.writeHead(200, headers).end(body);
  }
}
