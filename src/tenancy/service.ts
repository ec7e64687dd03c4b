import type { Clock } from "../clock.js";
import type { Database } from "../db/database.js";
import { ConflictError, NotFoundError, UnauthorizedError } from "../errors.js";
import { ids } from "../ids.js";
import { generateApiToken, hashApiToken, looksLikeApiToken } from "./api-token.js";
import type { Principal, Role } from "./roles.js";
import { tenancyStore } from "./store.js";

export interface IssuedToken {
  token: string;
  tokenId: string;
  userId: string;
  email: string;
  expiresAt: Date | null;
}

/** Serialises the first-start bootstrap across processes sharing one PostgreSQL. */
const bootstrapLockKey = 0x70726f76; // "prov"

export const initialOperatorEmail = "operator@localhost";

export class TenancyService {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  /**
   * On a database without users, creates the initial operator and a token for it.
   * Returns the token once, or null when users already exist.
   */
  async bootstrapInitialOperator(): Promise<IssuedToken | null> {
    return this.db.knex.transaction(async (trx) => {
      await trx.raw("select pg_advisory_xact_lock(?)", [bootstrapLockKey]);
      if ((await tenancyStore.countUsers(trx)) > 0) return null;
      const now = this.clock.now();
      const user = await tenancyStore.insertUser(
        trx,
        {
          id: ids.uuid(),
          email: initialOperatorEmail,
          name: "Initial operator",
          role: "operator",
          organisation_id: null,
          group_id: null,
        },
        now,
      );
      await tenancyStore.insertAuditEvent(trx, {
        actorUserId: null,
        actorTokenId: null,
        actorLabel: "system:first-start",
        action: "user.created",
        targetType: "user",
        targetId: user.id,
        after: { email: user.email, role: user.role },
        occurredAt: now,
      });
      return this.issueToken(trx, user.id, user.email, "initial operator token", null, "system:first-start");
    });
  }

  /**
   * Issues a token from the command line for a user of the given role: the named user, or
   * the first active one (creating the initial operator if there is none).
   */
  async issueTokenFromCli(options: {
    role: Role;
    email?: string;
    name?: string;
    expiresAt?: Date | null;
  }): Promise<IssuedToken> {
    return this.db.knex.transaction(async (trx) => {
      const now = this.clock.now();
      let user = options.email
        ? await tenancyStore.findUserByEmail(trx, options.email)
        : options.role === "operator"
          ? await tenancyStore.findFirstActiveOperator(trx)
          : undefined;
      if (options.email && user && user.role !== options.role) {
        throw new ConflictError(`user ${options.email} has role ${user.role}, not ${options.role}`);
      }
      if (user && !user.active) throw new ConflictError(`user ${user.email} is inactive`);
      if (!user) {
        if (options.role !== "operator") {
          throw new NotFoundError(
            `no ${options.role} user${options.email ? ` ${options.email}` : ""}: create it through the admin API first`,
          );
        }
        user = await tenancyStore.insertUser(
          trx,
          {
            id: ids.uuid(),
            email: options.email ?? initialOperatorEmail,
            name: "Operator",
            role: "operator",
            organisation_id: null,
            group_id: null,
          },
          now,
        );
        await tenancyStore.insertAuditEvent(trx, {
          actorUserId: null,
          actorTokenId: null,
          actorLabel: "cli",
          action: "user.created",
          targetType: "user",
          targetId: user.id,
          after: { email: user.email, role: user.role },
          occurredAt: now,
        });
      }
      return this.issueToken(
        trx,
        user.id,
        user.email,
        options.name ?? "cli",
        options.expiresAt ?? null,
        "cli",
      );
    });
  }

  /** Resolves a bearer token to its principal, or throws 401 without saying which check failed. */
  async authenticate(bearer: string | undefined): Promise<Principal> {
    if (!bearer) throw new UnauthorizedError("an API token is required: send Authorization: Bearer <token>");
    if (!looksLikeApiToken(bearer)) throw new UnauthorizedError("the API token is not valid");
    const now = this.clock.now();
    const row = await tenancyStore.findUserOfUsableToken(this.db.knex, hashApiToken(bearer), now);
    if (!row) throw new UnauthorizedError("the API token is not valid");
    await tenancyStore.touchApiToken(this.db.knex, row.token_id, now);
    return {
      userId: row.id,
      tokenId: row.token_id,
      email: row.email,
      name: row.name,
      role: row.role,
      organisationId: row.organisation_id,
      groupId: row.group_id,
    };
  }

  private async issueToken(
    trx: Database["knex"],
    userId: string,
    email: string,
    name: string,
    expiresAt: Date | null,
    actorLabel: string,
  ): Promise<IssuedToken> {
    const now = this.clock.now();
    const token = generateApiToken();
    const row = await tenancyStore.insertApiToken(
      trx,
      { id: ids.uuid(), user_id: userId, name, token_hash: hashApiToken(token), expires_at: expiresAt },
      now,
    );
    await tenancyStore.insertAuditEvent(trx, {
      actorUserId: null,
      actorTokenId: null,
      actorLabel,
      action: "token.created",
      targetType: "token",
      targetId: row.id,
      after: { userId, name, expiresAt },
      occurredAt: now,
    });
    return { token, tokenId: row.id, userId, email, expiresAt };
  }
}
