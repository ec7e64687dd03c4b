import { createHash } from "node:crypto";
import type { Knex } from "knex";
import { type Actor, type SystemActor, systemActor } from "../audit/actor.js";
import type { AuditService } from "../audit/service.js";
import type { FailureLimiter } from "../auth/failure-limiter.js";
import type { Clock } from "../clock.js";
import type { Database } from "../db/database.js";
import { ConflictError, GoneError, NotFoundError, RateLimitedError } from "../errors.js";
import { ids } from "../ids.js";
import type { Logger } from "../logger.js";
import type { OutboxWriter } from "../messaging/outbox.js";
import { assertMayHold, fieldError, organisationOfUser, visibleUser } from "./authority.js";
import { hashPassword, verifyPassword } from "./password-hash.js";
import type { ClientInfo, SignInConfig } from "./sessions.js";
import { passwordMaxLength } from "./sign-in-schemas.js";
import { type PasswordTokenPurpose, signInStore } from "./sign-in-store.js";
import { tenancyStore as store, type UserRow } from "./store.js";
import { iso } from "./views.js";

/** Where invitation and reset links go out: the outbox, with links under the console's address. */
export interface PasswordLinks {
  outbox: OutboxWriter;
  /** messaging.publicUrl, else this server's own URL. */
  baseUrl(): string;
  /** Reset requests per e-mail, so nobody fills a mailbox through the form. */
  resetRequests: FailureLimiter;
  /** Sign-in's failures per account: a wrong current password counts as one. */
  signInFailures: FailureLimiter;
  logger: Logger;
}

const hashLinkToken = (token: string) => createHash("sha256").update(token, "utf8").digest("hex");

/** The console's page that asks for the new password (the console calls POST /password-reset/{token}). */
export const passwordPagePath = "/console/password/";

/**
 * Users' console passwords: set from the command line, from an invitation or a reset link
 * (one-time tokens, only their SHA-256 stored), and by the signed-in user.
 */
export class Passwords {
  /** `links` null: the command line, which sets passwords but sends no e-mail. */
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    private readonly config: SignInConfig,
    private readonly links: PasswordLinks | null = null,
  ) {}

  /** The link printed on first start for the initial operator; an invitation without an e-mail. */
  async firstStartToken(userId: string): Promise<string> {
    return this.db.knex.transaction(async (trx) => {
      const user = await store.findVisibleUser(trx, { kind: "all" }, userId);
      if (!user) throw new NotFoundError("no such user");
      const issued = await this.issueToken(trx, user, "invitation", this.config.invitationSeconds);
      await this.audit.record(trx, systemActor("system:first-start"), {
        action: "user.invited",
        targetType: "user",
        targetId: user.id,
        after: { expiresAt: iso(issued.expiresAt), via: "first start" },
      });
      return issued.token;
    });
  }

  /** POST /users/{id}/invitation: an e-mail with a one-time link to set a password. */
  async invite(actor: Actor, userId: string): Promise<{ messageId: string; expiresAt: string }> {
    const links = this.requireLinks();
    return this.db.knex.transaction(async (trx) => {
      const user = await visibleUser(trx, actor.principal.scope, userId, true);
      const organisationId = await assertMayHold(trx, actor.principal, user);
      if (!user.active) throw new ConflictError("the user is inactive: activate them before inviting them");
      const issued = await this.issueToken(trx, user, "invitation", this.config.invitationSeconds);
      const message = await links.outbox.enqueue(trx, {
        channel: "email",
        kind: "console_invitation",
        recipient: user.email,
        organisationId,
        variables: { name: user.name, link: this.linkOf(issued.token), expiresAt: iso(issued.expiresAt) },
      });
      const after = { messageId: message.id, expiresAt: iso(issued.expiresAt) };
      await this.audit.record(trx, actor, {
        action: "user.invited",
        targetType: "user",
        targetId: user.id,
        organisationId,
        groupId: user.group_id,
        after,
      });
      return after;
    });
  }

  /**
   * POST /password-reset: an e-mail with a one-time link when the e-mail is a user's who may sign
   * in; the caller learns nothing either way.
   */
  async requestReset(email: string, client: ClientInfo, requestId: string): Promise<void> {
    const links = this.requireLinks();
    const account = email.trim().toLowerCase();
    const log = { security: "password-reset", email: account, remoteAddress: client.address, requestId };
    if (links.resetRequests.blockedForSeconds(account) > 0) {
      links.logger.warn(log, "password reset not sent: too many requests for this e-mail");
      return;
    }
    links.resetRequests.recordFailure(account);
    const user = await store.findUserByEmail(this.db.knex, account);
    if (!user || !(await signInStore.userMaySignIn(this.db.knex, user.id))) {
      links.logger.info({ ...log, sent: false }, "password reset asked for an e-mail that may not sign in");
      return;
    }
    await this.db.knex.transaction(async (trx) => {
      const issued = await this.issueToken(trx, user, "reset", this.config.resetSeconds);
      const organisationId = await organisationOfUser(trx, user);
      const message = await links.outbox.enqueue(trx, {
        channel: "email",
        kind: "password_reset",
        recipient: user.email,
        organisationId,
        variables: { name: user.name, link: this.linkOf(issued.token), expiresAt: iso(issued.expiresAt) },
      });
      await this.audit.record(trx, systemActor(`password reset from ${client.address}`), {
        action: "user.password_reset_requested",
        targetType: "user",
        targetId: user.id,
        organisationId,
        groupId: user.group_id,
        after: { messageId: message.id, expiresAt: iso(issued.expiresAt) },
      });
    });
    links.logger.info({ ...log, sent: true, userId: user.id }, "password reset sent");
  }

  /**
   * POST /password-reset/{token}: sets the password of an invitation's or reset's user once.
   * 404 for a token never issued, 410 for one used, expired or superseded.
   */
  async setWithToken(token: string, password: string): Promise<void> {
    this.assertAcceptable(password);
    const hash = await hashPassword(password, this.config.scrypt);
    await this.db.knex.transaction(async (trx) => {
      const row = await signInStore.findPasswordTokenForUpdate(trx, hashLinkToken(token));
      if (!row) throw new NotFoundError("no such link");
      if (row.used_at) throw new GoneError("the link was used already: ask for a new one");
      if (row.expires_at <= this.clock.now()) throw new GoneError("the link has expired: ask for a new one");
      const user = await store.findVisibleUser(trx, { kind: "all" }, row.user_id);
      if (!user || !(await signInStore.userMaySignIn(trx, user.id)))
        throw new GoneError("the link's user may no longer sign in");
      await signInStore.markPasswordTokenUsed(trx, row.id, this.clock.now());
      await this.store(trx, user, hash, null, systemActor(`${row.purpose} link`), row.purpose);
    });
  }

  /** A password the configuration accepts, or a 400 naming the field. */
  assertAcceptable(password: string, path = "body.password"): void {
    if (password.length < this.config.passwordMinLength)
      throw fieldError(path, `must be at least ${this.config.passwordMinLength} characters`);
    if (password.length > passwordMaxLength)
      throw fieldError(path, `must be at most ${passwordMaxLength} characters`);
  }

  /**
   * `provisiond user password --email`: the operator's way back in. Ends every session of the
   * user and spends their unused links.
   */
  async setByEmail(email: string, password: string, actor: SystemActor): Promise<{ userId: string }> {
    this.assertAcceptable(password, "password");
    const hash = await hashPassword(password, this.config.scrypt);
    return this.db.knex.transaction(async (trx) => {
      const user = await store.findUserByEmail(trx, email.trim());
      if (!user) throw new NotFoundError(`no user with the e-mail ${email.trim()}`);
      await this.store(trx, user, hash, null, actor, "cli");
      return { userId: user.id };
    });
  }

  private requireLinks(): PasswordLinks {
    if (!this.links) throw new Error("password links need the outbox: build Passwords with links");
    return this.links;
  }

  private linkOf(token: string): string {
    return `${this.requireLinks().baseUrl().replace(/\/+$/, "")}${passwordPagePath}${token}`;
  }

  /** A new one-time token; the user's earlier unused ones stop working (the newest link counts). */
  private async issueToken(
    trx: Knex,
    user: UserRow,
    purpose: PasswordTokenPurpose,
    seconds: number,
  ): Promise<{ token: string; expiresAt: Date }> {
    const now = this.clock.now();
    const token = ids.secret(32);
    const expiresAt = new Date(now.getTime() + seconds * 1000);
    await signInStore.spendPasswordTokensOfUser(trx, user.id, now);
    await signInStore.insertPasswordToken(trx, {
      id: ids.uuid(),
      user_id: user.id,
      token_hash: hashLinkToken(token),
      purpose,
      created_at: now,
      expires_at: expiresAt,
      used_at: null,
    });
    return { token, expiresAt };
  }

  /**
   * The signed-in user changes their own password, knowing the current one. Their other sessions
   * end; the one the request is made with goes on.
   */
  async changeOwn(
    actor: Actor,
    currentPassword: string,
    password: string,
  ): Promise<{ sessionsEnded: number }> {
    const links = this.requireLinks();
    const account = actor.principal.email.toLowerCase();
    const blockedFor = links.signInFailures.blockedForSeconds(account);
    if (blockedFor > 0) throw new RateLimitedError(blockedFor, "too many wrong passwords; try again later");
    this.assertAcceptable(password);
    const stored = await signInStore.passwordHashOf(this.db.knex, actor.principal.userId);
    if (!stored || !(await verifyPassword(currentPassword, stored))) {
      links.signInFailures.recordFailure(account);
      links.logger.warn(
        { security: "password-change-refused", userId: actor.principal.userId, requestId: actor.requestId },
        "password change refused: wrong current password",
      );
      throw fieldError("body.currentPassword", "is not the user's current password");
    }
    const hash = await hashPassword(password, this.config.scrypt);
    return this.db.knex.transaction(async (trx) => {
      const user = await store.findVisibleUser(trx, { kind: "all" }, actor.principal.userId, true);
      if (!user) throw new NotFoundError("no such user");
      const sessionsEnded = await this.store(
        trx,
        user,
        hash,
        actor.principal.sessionId ?? null,
        actor,
        "change",
      );
      return { sessionsEnded };
    });
  }

  /** Writes the hash, spends links, ends sessions (but the one kept) and audits, in the caller's transaction. */
  private async store(
    trx: Knex,
    user: UserRow,
    hash: string,
    keepSessionId: string | null,
    actor: Actor | SystemActor,
    via: string,
  ): Promise<number> {
    const now = this.clock.now();
    await signInStore.setPasswordHash(trx, user.id, hash, now);
    await signInStore.spendPasswordTokensOfUser(trx, user.id, now);
    const ended = await signInStore.deleteSessionsOfUser(trx, user.id, keepSessionId);
    await this.audit.record(trx, actor, {
      action: "user.password_set",
      targetType: "user",
      targetId: user.id,
      organisationId: await organisationOfUser(trx, user),
      groupId: user.group_id,
      after: { via, sessionsEnded: ended },
    });
    return ended;
  }
}
