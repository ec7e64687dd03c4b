import type { Logger } from "../logger.js";
import { unsupportedRequirements } from "./stack/extensions.js";
import { refuse } from "./stack/refusals.js";
import type { ServerTransaction } from "./stack/transaction.js";

/** What answers the server transactions of one method. */
export type MethodHandler = (tx: ServerTransaction) => void | Promise<void>;

/**
 * The method dispatch of the SIP application: which handler answers which request method.
 * The registrar serves REGISTER; the router serves calls and messages (INVITE, CANCEL, BYE,
 * MESSAGE, UPDATE, INFO, PRACK, OPTIONS). A method without a handler is refused with 405 and the
 * Allow list (OPTIONS without one is answered 200 with it); a handler that fails answers 500. A
 * request that requires an extension this server lacks gets 420 before any handler sees it,
 * unless its handler proxies it (a proxy passes Require on: RFC 3261 section 16.6).
 */
export class MethodDispatch {
  private readonly handlers = new Map<string, MethodHandler>();
  private readonly proxied = new Set<string>();

  constructor(
    private readonly logger: Logger,
    /** Option tags the answering parts support (none yet: no path, outbound or gruu). */
    private readonly supported: ReadonlySet<string> = new Set(),
  ) {}

  /** Serves a method; the order of registration is the order of the Allow header. */
  on(method: string, handler: MethodHandler, options: { proxy?: boolean } = {}): this {
    this.handlers.set(method, handler);
    if (options.proxy) this.proxied.add(method);
    else this.proxied.delete(method);
    return this;
  }

  /** The Allow header value: the methods served, and OPTIONS. */
  allow(): string {
    return [...this.handlers.keys(), ...(this.handlers.has("OPTIONS") ? [] : ["OPTIONS"])].join(", ");
  }

  /** The endpoint's onRequest. */
  readonly handle = (tx: ServerTransaction): void => {
    const method = tx.request.method;
    if (!this.proxied.has(method)) {
      const unsupported = unsupportedRequirements(tx.request, this.supported);
      if (unsupported.length > 0) {
        refuse(tx, { name: "bad_extension", unsupported });
        return;
      }
    }
    const handler = this.handlers.get(method);
    if (!handler) {
      if (method === "OPTIONS") tx.reply(200, { headers: [["Allow", this.allow()]] });
      // A method nobody serves (SUBSCRIBE, REFER, PUBLISH...): say what is served.
      else refuse(tx, { name: "method_not_allowed", allow: this.allow() });
      return;
    }
    const callId = tx.request.headers.get("call-id");
    const failed = (error: unknown): void => {
      this.logger.error({ err: error, callId }, `SIP ${method} failed`);
      refuse(tx, { name: "server_error" });
    };
    try {
      const answered = handler(tx);
      if (answered) answered.catch(failed);
    } catch (error) {
      failed(error);
    }
  };
}
