import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "../logger.js";

export interface ListenOptions {
  host: string;
  port: number;
  requestTimeoutMs: number;
}

/** Listens and resolves with the server and its base URL once the port is bound. */
export async function listenHttp(
  listener: RequestListener,
  options: ListenOptions,
): Promise<{ server: Server; url: string }> {
  const server = createServer(listener);
  server.requestTimeout = options.requestTimeoutMs;
  server.headersTimeout = Math.min(options.requestTimeoutMs, 60_000);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return { server, url: `http://${host}:${address.port}` };
}

/**
 * Stops accepting connections, closes idle keep-alive ones, and waits for in-flight requests;
 * after graceMs the remaining connections are cut.
 */
export async function drainHttp(server: Server, graceMs: number, logger: Logger): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const force = setTimeout(() => {
    logger.warn({ graceMs }, "shutdown grace period over: cutting the remaining connections");
    server.closeAllConnections();
  }, graceMs);
  await closed;
  clearTimeout(force);
}
