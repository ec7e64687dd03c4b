import { Socket } from "node:net";

/**
 * A small RESP2 client for BullMQ. bullmq 6 drives Redis through ioredis, node-redis or Bun's
 * built-in client, and none of those is installed here; BullMQ accepts any client shaped like
 * Bun's (`send`, `connected`, `onconnect`/`onclose`), which this is, over node:net. BullMQ's
 * adapter does the reconnecting (with backoff) by calling `duplicate()` for a fresh client.
 */
export type RedisArgument = string | Buffer | number;
type Reply = string | number | null | Error | Reply[];

interface Pending {
  resolve: (value: Reply) => void;
  reject: (error: Error) => void;
}

export interface RedisTarget {
  host: string;
  port: number;
  password?: string | undefined;
  username?: string | undefined;
  db?: number | undefined;
}

export function redisTarget(url: string): RedisTarget {
  const parsed = new URL(url);
  const db = parsed.pathname.replace(/^\//, "");
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1",
    port: Number(parsed.port || 6379),
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    db: db ? Number(db) : undefined,
  };
}

export class RespClient {
  connected = false;
  onconnect: (() => void) | null = null;
  onclose: ((error?: Error) => void) | null = null;
  onerror: ((error: Error) => void) | null = null;

  private socket: Socket | null = null;
  private readonly pending: Pending[] = [];
  private buffer: Buffer = Buffer.alloc(0);

  constructor(private readonly target: RedisTarget) {}

  async connect(): Promise<void> {
    if (this.connected) return;
    const socket = new Socket();
    this.socket = socket;
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      const fail = (error: Error) => reject(error);
      socket.once("error", fail);
      socket.connect(this.target.port, this.target.host, () => {
        socket.off("error", fail);
        resolve();
      });
    });
    socket.on("data", (chunk: Buffer) => this.receive(chunk));
    socket.on("error", (error) => this.onerror?.(error));
    socket.on("close", () => this.closed());
    this.connected = true;
    if (this.target.password) {
      await this.send(
        "AUTH",
        this.target.username ? [this.target.username, this.target.password] : [this.target.password],
      );
    }
    if (this.target.db) await this.send("SELECT", [String(this.target.db)]);
    this.onconnect?.();
  }

  close(): void {
    this.socket?.destroy();
  }

  async duplicate(): Promise<this> {
    return new RespClient(this.target) as this;
  }

  send<T = unknown>(command: string, args: readonly RedisArgument[]): Promise<T> {
    const socket = this.socket;
    if (!this.connected || !socket) return Promise.reject(new Error("Connection closed"));
    const parts: Buffer[] = [Buffer.from(`*${args.length + 1}\r\n`)];
    for (const arg of [command, ...args]) {
      const bytes = Buffer.isBuffer(arg) ? arg : Buffer.from(String(arg));
      parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from("\r\n"));
    }
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ resolve: resolve as (value: Reply) => void, reject });
      socket.write(Buffer.concat(parts));
    });
  }

  get(key: string): Promise<string | null> {
    return this.send("GET", [key]);
  }

  smembers(key: string): Promise<unknown[]> {
    return this.send("SMEMBERS", [key]);
  }

  incr(key: string): Promise<number> {
    return this.send("INCR", [key]);
  }

  private closed(): void {
    const wasConnected = this.connected;
    this.connected = false;
    this.socket = null;
    const error = new Error("Connection closed");
    for (const waiting of this.pending.splice(0)) waiting.reject(error);
    // No error to onclose: BullMQ's adapter would re-emit it on clients nobody listens to; it reconnects either way.
    if (wasConnected) this.onclose?.();
  }

  private receive(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    let offset = 0;
    for (;;) {
      const parsed = parseReply(this.buffer, offset);
      if (!parsed) break;
      offset = parsed.next;
      const waiting = this.pending.shift();
      if (!waiting) continue;
      if (parsed.value instanceof Error) waiting.reject(parsed.value);
      else waiting.resolve(parsed.value);
    }
    this.buffer = offset >= this.buffer.length ? Buffer.alloc(0) : this.buffer.subarray(offset);
  }
}

/** One RESP2 reply from offset, or null while it is incomplete. */
function parseReply(buffer: Buffer, offset: number): { value: Reply; next: number } | null {
  const lineEnd = buffer.indexOf("\r\n", offset);
  if (lineEnd < 0) return null;
  const type = String.fromCharCode(buffer[offset] as number);
  const line = buffer.toString("utf8", offset + 1, lineEnd);
  const next = lineEnd + 2;
  switch (type) {
    case "+":
      return { value: line, next };
    case "-":
      return { value: new Error(line), next };
    case ":":
      return { value: Number(line), next };
    case "$": {
      const length = Number(line);
      if (length < 0) return { value: null, next };
      if (buffer.length < next + length + 2) return null;
      return { value: buffer.toString("utf8", next, next + length), next: next + length + 2 };
    }
    case "*": {
      const count = Number(line);
      if (count < 0) return { value: null, next };
      const items: Reply[] = [];
      let cursor = next;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buffer, cursor);
        if (!item) return null;
        items.push(item.value);
        cursor = item.next;
      }
      return { value: items, next: cursor };
    }
    default:
      throw new Error(`unexpected RESP reply type ${JSON.stringify(type)}`);
  }
}
