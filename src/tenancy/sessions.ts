import type { Actor } from "../audit/actor.js";
import type { AuditService } from "../audit/service.js";
import type { FailureLimiter } from "../auth/failure-limiter.js";
import type { Clock } from "../clock.js";
import type { Config } from "../config/schema.js";
import type { Database } from "../db/database.js";
import { NotFoundError, RateLimitedError, UnauthorizedError } from "../errors.js";
import { ids } from "../ids.js";
import type { Logger } from "../logger.js";
import { organisationOfUser } from "./authority.js";
import { decoyHash, hashPassword, isOutdated, verifyPassword } from "./password-hash.js";
import { type Principal, scopeOf } from "./roles.js";
import {
  csrfTokenOf,
  generateSessionSecret,
  hashSessionSecret,
  looksLikeSessionSecret,
} from "./session-secret.js";
import { type SessionRow, signInStore } from "./sign-in-store.js";
import { tenancyStore, type UserRow } from "./store.js";
import { iso, type User, userView } from "./views.js";

export type SignInConfig = Config["signIn"];

/** Where a sign-in comes from, as the session list shows it. */
export interface ClientInfo {
  address: string;
  userAgent: string | null;
}

export interface SessionView {
  id: string;
  user: User;
  csrfToken: string;
  createdAt: string;
  expiresAt: string;
}

export interface SessionListItem {
  id: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  address: string | null;
  userAgent: string | null;
  current: boolean;
}

/** The one answer to every refused sign-in, so it tells nobody which part was wrong. */
const refusal = "the e-mail or password is not right, or the user may not sign in";

const userAgentMaxLength = 300;

/** Failures counted per account and per address, in the limiter SIP and API tokens use too. */
export interface SignInLimiters {
  byAccount: FailureLimiter;
  byAddress: FailureLimiter;
}

/**
 * Console sessions: signing in with e-mail and password, the cookie's secret resolved to the
 * user on each request (stored as SHA-256 only), the user's list of sessions, and ending them.
 */
export class Sessions {
  private decoy: Promise<string> | undefined;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    private readonly config: SignInConfig,
    private readonly limiters: SignInLimiters,
    private readonly logger: Logger,
  ) {}

  async signIn(
    credentials: { email: string; password: string },
    client: ClientInfo,
    requestId: string,
  ): Promise<{ secret: string; session: SessionView }> {
    const account = credentials.email.trim().toLowerCase();
    const blockedFor = Math.max(
      this.limiters.byAccount.blockedForSeconds(account),
      this.limiters.byAddress.blockedForSeconds(client.address),
    );
    if (blockedFor > 0) {
      this.logger.warn(
        { security: "sign-in-throttled", email: account, remoteAddress: client.address, requestId },
        "sign-in refused: too many failures",
      );
      throw new RateLimitedError(blockedFor, "too many failed sign-ins; try again later");
    }

    const user = await tenancyStore.findUserByEmail(this.db.knex, account);
    const hash = user ? await signInStore.passwordHashOf(this.db.knex, user.id) : undefined;
    // Unknown e-mails and users without a password are hashed too: every refusal takes as long.
    this.decoy ??= decoyHash(this.config.scrypt);
    const matches = await verifyPassword(credentials.password, hash ?? (await this.decoy));
    const allowed = user !== undefined && (await signInStore.userMaySignIn(this.db.knex, user.id));
    if (!user || !hash || !matches || !allowed) {
      const reason = !user
        ? "unknown-email"
        : !hash
          ? "no-password"
          : !matches
            ? "wrong-password"
            : "inactive";
      await this.refuse(account, user, reason, client, requestId);
      throw new UnauthorizedError(refusal);
    }

    const now = this.clock.now();
    const secret = generateSessionSecret();
    const session = await this.db.knex.transaction(async (trx) => {
      const row = await signInStore.insertSession(trx, {
        id: ids.uuid(),
        user_id: user.id,
        secret_hash: hashSessionSecret(secret),
        created_at: now,
        last_seen_at: now,
        expires_at: new Date(now.getTime() + this.config.sessionAbsoluteSeconds * 1000),
        address: client.address,
        user_agent: client.userAgent?.slice(0, userAgentMaxLength) ?? null,
      });
      if (isOutdated(hash, this.config.scrypt)) {
        // The configured parameters were raised: the password is at hand only now.
        await signInStore.setPasswordHash(
          trx,
          user.id,
          await hashPassword(credentials.password, this.config.scrypt),
          now,
        );
      }
      const group = user.group_id ? await tenancyStore.findGroup(trx, user.group_id) : undefined;
      const actor: Actor = {
        principal: this.principalOf(
          user,
          row.id,
          (await tenancyStore.assignmentsOfUser(trx, user.id)).map((assignment) => assignment.group_id),
          group?.organisation_id ?? null,
        ),
        requestId,
      };
      await this.audit.record(trx, actor, {
        action: "session.created",
        targetType: "session",
        targetId: row.id,
        organisationId: await organisationOfUser(trx, user),
        groupId: user.group_id,
        after: {
          userId: user.id,
          address: row.address,
          userAgent: row.user_agent,
          expiresAt: iso(row.expires_at),
        },
      });
      return row;
    });
    this.logger.info(
      {
        security: "sign-in",
        userId: user.id,
        sessionId: session.id,
        remoteAddress: client.address,
        requestId,
      },
      "signed in",
    );
    return { secret, session: this.view(user, session, secret) };
  }

  /** Resolves a cookie's secret to its user, or throws 401; lastSeenAt is written sparingly. */
  async authenticate(secret: string): Promise<Principal> {
    if (!looksLikeSessionSecret(secret)) throw new UnauthorizedError("the session has ended: sign in again");
    const now = this.clock.now();
    const row = await signInStore.findUsableSession(
      this.db.knex,
      hashSessionSecret(secret),
      now,
      this.config.sessionIdleSeconds,
    );
    if (!row) throw new UnauthorizedError("the session has ended: sign in again");
    // One write per session per touch interval, not one per request.
    if (
      now.getTime() - new Date(row.session_last_seen_at).getTime() >=
      this.config.sessionTouchSeconds * 1000
    ) {
      await signInStore.touchSession(this.db.knex, row.session_id, now);
    }
    return this.principalOf(row, row.session_id, row.group_ids, row.group_organisation_id);
  }

  /** The session a request is made with (its cookie's secret gives the CSRF token). */
  async current(principal: Principal, secret: string | undefined): Promise<SessionView> {
    if (!principal.sessionId || !secret)
      throw new NotFoundError("this request is not made with a console session");
    const session = await signInStore.findSessionOfUser(this.db.knex, principal.userId, principal.sessionId);
    const user = await tenancyStore.findVisibleUser(this.db.knex, { kind: "all" }, principal.userId);
    if (!session || !user) throw new UnauthorizedError("the session has ended: sign in again");
    return this.view(user, session, secret);
  }

  async list(principal: Principal): Promise<{ items: SessionListItem[] }> {
    const rows = await signInStore.sessionsOfUser(
      this.db.knex,
      principal.userId,
      this.clock.now(),
      this.config.sessionIdleSeconds,
    );
    return {
      items: rows.map((row) => ({
        id: row.id,
        createdAt: iso(row.created_at),
        lastSeenAt: iso(row.last_seen_at),
        expiresAt: this.endOf(row),
        address: row.address,
        userAgent: row.user_agent,
        current: row.id === principal.sessionId,
      })),
    };
  }

  /** Ends one of the caller's own sessions ("force log-out"); another user's is not found. */
  async end(actor: Actor, sessionId: string): Promise<void> {
    await this.db.knex.transaction(async (trx) => {
      const session = await signInStore.findSessionOfUser(trx, actor.principal.userId, sessionId);
      if (!session) throw new NotFoundError("no such session");
      await signInStore.deleteSession(trx, sessionId);
      await this.audit.record(trx, actor, {
        action: sessionId === actor.principal.sessionId ? "session.signed_out" : "session.ended",
        targetType: "session",
        targetId: sessionId,
        organisationId: actor.principal.scope.kind === "all" ? null : actor.principal.scope.organisationId,
        groupId: actor.principal.groupId,
        before: { userId: session.user_id, address: session.address, userAgent: session.user_agent },
      });
    });
  }

  /** Sign-out: the session the request is made with. */
  async endCurrent(actor: Actor): Promise<void> {
    const sessionId = actor.principal.sessionId;
    if (!sessionId) throw new NotFoundError("this request is not made with a console session");
    await this.end(actor, sessionId);
  }

  /** Drops sessions past their ends (they are refused anyway; this keeps the table small). */
  async purgeEnded(): Promise<number> {
    return signInStore.deleteEndedSessions(this.db.knex, this.clock.now(), this.config.sessionIdleSeconds);
  }

  private async refuse(
    account: string,
    user: UserRow | undefined,
    reason: string,
    client: ClientInfo,
    requestId: string,
  ): Promise<void> {
    const byAccount = this.limiters.byAccount.recordFailure(account);
    const byAddress = this.limiters.byAddress.recordFailure(client.address);
    this.logger.warn(
      {
        security: "sign-in-refused",
        reason,
        email: account,
        userId: user?.id ?? null,
        remoteAddress: client.address,
        failures: { account: byAccount.count, address: byAddress.count },
        requestId,
      },
      "sign-in refused",
    );
    await this.db.knex.transaction(async (trx) => {
      await this.audit.record(
        trx,
        { label: `sign-in from ${client.address}` },
        {
          action: "session.refused",
          targetType: "user",
          targetId: user?.id ?? null,
          organisationId: user ? await organisationOfUser(trx, user) : null,
          groupId: user?.group_id ?? null,
          after: { email: account, reason, address: client.address },
        },
      );
    });
  }

  private principalOf(
    user: UserRow,
    sessionId: string,
    groupIds: string[],
    groupOrganisationId: string | null,
  ): Principal {
    return {
      userId: user.id,
      tokenId: null,
      sessionId,
      email: user.email,
      name: user.name,
      role: user.role,
      organisationId: user.organisation_id,
      groupId: user.group_id,
      groupIds,
      scope: scopeOf(user.role, user.organisation_id, groupIds, groupOrganisationId),
    };
  }

  /** The earlier of the idle end (from the last recorded use) and the absolute end. */
  private endOf(row: SessionRow): string {
    const idleEnd = new Date(row.last_seen_at).getTime() + this.config.sessionIdleSeconds * 1000;
    return iso(new Date(Math.min(idleEnd, new Date(row.expires_at).getTime())));
  }

  private view(user: UserRow, session: SessionRow, secret: string): SessionView {
    return {
      id: session.id,
      user: userView(user),
      csrfToken: csrfTokenOf(secret),
      createdAt: iso(session.created_at),
      expiresAt: this.endOf(session),
    };
  }
}
