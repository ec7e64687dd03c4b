import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { ApiClient } from "../support/api.js";

/** Polls until check returns a value other than undefined/false, or fails after timeoutMs. */
export async function waitFor<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    last = await check();
    if (last !== undefined && last !== false) return last as T;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}

export interface MessageBody {
  id: string;
  channel: string;
  kind: string;
  to: string;
  status: string;
  text: string | null;
  subject: string | null;
  encoding: string | null;
  segments: number | null;
  gateway: string | null;
  attempts: number;
  failureReason: string | null;
  idempotencyKey: string;
  clickedAt: string | null;
  clickPlatform: string | null;
  history: Array<{ status: string; at: string; detail: string | null }>;
}

export async function messagesOf(op: ApiClient, accountId: string): Promise<MessageBody[]> {
  return (await op.ok<{ items: MessageBody[] }>("GET", `/api/v1/accounts/${accountId}/messages`)).items;
}

export function waitForStatus(
  op: ApiClient,
  accountId: string,
  messageId: string,
  status: string,
  timeoutMs?: number,
) {
  return waitFor(
    async () => {
      const message = (await messagesOf(op, accountId)).find((m) => m.id === messageId);
      return message?.status === status ? message : undefined;
    },
    `message ${messageId} ${status}`,
    timeoutMs,
  );
}

export interface GatewayRequest {
  headers: IncomingMessage["headers"];
  body: string;
  json: Record<string, unknown> | null;
  form: URLSearchParams;
}

type Behaviour = "accept" | "reject" | "fail" | "hang";

/**
 * A real HTTP SMS gateway for tests: accepts (answering an id), rejects (400), fails (503) or
 * never answers, as told per recipient; remembers every request and each idempotency key.
 */
export async function startFakeHttpGateway() {
  const requests: GatewayRequest[] = [];
  const behaviours = new Map<string, Behaviour>();
  const idsByKey = new Map<string, string>();
  let defaultBehaviour: Behaviour = "accept";
  let seq = 0;
  const hanging: ServerResponse[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      let json: Record<string, unknown> | null = null;
      try {
        json = JSON.parse(body) as Record<string, unknown>;
      } catch {
        json = null;
      }
      const form = new URLSearchParams(json ? "" : body);
      const request = { headers: req.headers, body, json, form };
      requests.push(request);
      const to = String(json?.to ?? form.get("To") ?? "");
      const behaviour = behaviours.get(to) ?? defaultBehaviour;
      if (behaviour === "hang") {
        hanging.push(res);
        return;
      }
      if (behaviour === "reject") {
        res.writeHead(400, { "content-type": "application/json" }).end('{"error":"invalid destination"}');
        return;
      }
      if (behaviour === "fail") {
        res.writeHead(503, { "content-type": "application/json" }).end('{"error":"busy"}');
        return;
      }
      const key = String(req.headers["idempotency-key"] ?? "");
      // A retried key gets the id it got the first time, as a deduplicating gateway answers.
      const id = idsByKey.get(key) ?? `SM${++seq}`;
      idsByKey.set(key, id);
      res.writeHead(201, { "content-type": "application/json" }).end(JSON.stringify({ id, sid: id }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/messages`;
  return {
    url,
    requests,
    /** Distinct idempotency keys seen: what the gateway delivered, once each. */
    keys: () => new Set(requests.map((r) => String(r.headers["idempotency-key"] ?? ""))),
    behave(to: string, behaviour: Behaviour) {
      behaviours.set(to, behaviour);
    },
    behaveByDefault(behaviour: Behaviour) {
      defaultBehaviour = behaviour;
    },
    gatewayIdOf: (key: string) => idsByKey.get(key),
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
