import type { Context } from "koa";
import type { AuditService } from "../audit/service.js";
import { FailureLimiter } from "../auth/failure-limiter.js";
import type { Clock } from "../clock.js";
import type { Config } from "../config/schema.js";
import type { Database } from "../db/database.js";
import type { Route } from "../http/route.js";
import type { Logger } from "../logger.js";
import type { OutboxWriter } from "../messaging/outbox.js";
import { Passwords } from "./passwords.js";
import { Sessions } from "./sessions.js";
import { passwordRoutes, sessionRoutes } from "./sign-in-routes.js";

export interface SignIn {
  sessions: Sessions;
  passwords: Passwords;
  routes: Route[];
  /** Hosts the console is served under besides the request's own (for the CSRF Origin check). */
  trustedHosts(): readonly string[];
}

/** Signing in to the console, built for main.ts: sessions, passwords, their routes. */
export function createSignIn(options: {
  config: Config["signIn"];
  /** messaging.publicUrl: the console's address when a proxy serves it. */
  publicUrl: string | null;
  database: Database;
  clock: Clock;
  audit: AuditService;
  logger: Logger;
  outbox: OutboxWriter;
  /** This server's own URL (known once it listens), for links when publicUrl is not set. */
  serverUrl(): string;
}): SignIn {
  const { config, database, clock, audit, logger } = options;
  const windowMs = config.failureWindowSeconds * 1000;
  const byAccount = new FailureLimiter(config.accountFailureLimit, windowMs, clock);
  const byAddress = new FailureLimiter(config.addressFailureLimit, windowMs, clock);
  const sessions = new Sessions(database, clock, audit, config, { byAccount, byAddress }, logger);
  const passwords = new Passwords(database, clock, audit, config, {
    outbox: options.outbox,
    baseUrl: () => options.publicUrl ?? options.serverUrl(),
    // As many reset e-mails per address and window as failed sign-ins are allowed.
    resetRequests: new FailureLimiter(config.accountFailureLimit, windowMs, clock),
    signInFailures: byAccount,
    logger,
  });
  const publicHost = options.publicUrl ? new URL(options.publicUrl).host : null;
  const trustedHosts = () => (publicHost ? [publicHost] : []);
  const secureCookie = (ctx: Context): boolean => {
    if (config.secureCookie !== "auto") return config.secureCookie === "always";
    const overTls = (ctx.req.socket as { encrypted?: boolean }).encrypted === true;
    return overTls || options.publicUrl?.startsWith("https:") === true;
  };
  return {
    sessions,
    passwords,
    routes: [
      ...sessionRoutes(sessions, { trustedHosts, secureCookie }),
      ...passwordRoutes(passwords, config.passwordMinLength),
    ],
    trustedHosts,
  };
}
