import type { Knex } from "knex";
import type { z } from "zod";
import type { Actor, SystemActor } from "../audit/actor.js";
import type { AuditService } from "../audit/service.js";
import type { Clock } from "../clock.js";
import type { Database } from "../db/database.js";
import { pageOf } from "../db/listing.js";
import { ConflictError, NotFoundError } from "../errors.js";
import type { Page } from "../http/list.js";
import { ids } from "../ids.js";
import { generateApiToken, hashApiToken } from "./api-token.js";
import { assertMayManageTokensOf, fieldError, organisationOfUser, visibleUser } from "./authority.js";
import type * as schemas from "./schemas.js";
import { type ApiTokenRow, tenancyStore as store, type UserRow } from "./store.js";
import { type ApiToken, apiTokenView } from "./views.js";

type Input<S extends z.ZodType> = z.output<S>;

export interface IssuedToken {
  token: string;
  tokenId: string;
  userId: string;
  email: string;
  expiresAt: Date | null;
}

/** The API tokens of users: issued (the secret shown once), listed without secrets, revoked. */
export class ApiTokens {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly audit: AuditService,
  ) {}

  async create(
    actor: Actor,
    userId: string,
    body: Input<typeof schemas.createApiTokenBody>,
  ): Promise<ApiToken & { token: string }> {
    return this.db.knex.transaction(async (trx) => {
      const user = await visibleUser(trx, actor.principal.scope, userId, true);
      await assertMayManageTokensOf(trx, actor.principal, user);
      if (!user.active)
        throw new ConflictError("the user is inactive: activate them before creating a token");
      const expiresAt = body.expiresAt ? new Date(body.expiresAt) : null;
      if (expiresAt && expiresAt <= this.clock.now())
        throw fieldError("body.expiresAt", "must be in the future");
      const issued = await this.issue(trx, user, body.name ?? null, expiresAt, actor);
      const row = await store.findToken(trx, issued.tokenId);
      return { ...apiTokenView(row as NonNullable<typeof row>), token: issued.token };
    });
  }

  /**
   * What `provisiond token create` does, for an operator over the API (the command cannot open
   * the embedded database while the server runs): a token for the user of that role named by
   * e-mail, or for the calling operator. Users are not created here; POST /users does that.
   */
  async createForRole(
    actor: Actor,
    body: Input<typeof schemas.createRoleTokenBody>,
  ): Promise<ApiToken & { token: string }> {
    let userId = actor.principal.userId;
    if (body.email) {
      const user = await store.findUserByEmail(this.db.knex, body.email);
      if (!user) throw fieldError("body.email", "no user with this e-mail");
      if (user.role !== body.role) {
        const message = `the user has role ${user.role}, not ${body.role}`;
        throw new ConflictError(message, [{ path: "body.role", message }]);
      }
      userId = user.id;
    } else if (body.role !== "operator") {
      throw fieldError("body.email", `is required for a ${body.role} token`);
    }
    return this.create(actor, userId, {
      ...(body.name !== undefined ? { name: body.name } : {}),
      ...(body.expiresAt !== undefined ? { expiresAt: body.expiresAt } : {}),
    });
  }

  async list(
    actor: Actor,
    userId: string,
    query: Input<typeof schemas.apiTokenListQuery>,
  ): Promise<Page<ApiToken>> {
    await visibleUser(this.db.knex, actor.principal.scope, userId);
    return pageOf<ApiTokenRow, ApiToken>(store.tokenList(this.db.knex, userId, query), query, apiTokenView);
  }

  async revoke(actor: Actor, tokenId: string): Promise<ApiToken> {
    return this.db.knex.transaction(async (trx) => {
      const token = await store.findToken(trx, tokenId);
      if (!token) throw new NotFoundError("no such token");
      const user = await store.findVisibleUser(trx, actor.principal.scope, token.user_id);
      if (!user) throw new NotFoundError("no such token");
      await assertMayManageTokensOf(trx, actor.principal, user);
      const row = await store.revokeToken(trx, tokenId, this.clock.now());
      const after = apiTokenView(row);
      await this.audit.record(trx, actor, {
        action: "token.revoked",
        targetType: "token",
        targetId: tokenId,
        organisationId: await organisationOfUser(trx, user),
        groupId: user.group_id,
        before: apiTokenView(token),
        after,
      });
      return after;
    });
  }

  /** Issues a token for a user in the caller's transaction and audits it. */
  async issue(
    trx: Knex,
    user: UserRow,
    name: string | null,
    expiresAt: Date | null,
    actor: Actor | SystemActor,
  ): Promise<IssuedToken> {
    const token = generateApiToken();
    const row = await store.insertApiToken(
      trx,
      { id: ids.uuid(), user_id: user.id, name, token_hash: hashApiToken(token), expires_at: expiresAt },
      this.clock.now(),
    );
    await this.audit.record(trx, actor, {
      action: "token.created",
      targetType: "token",
      targetId: row.id,
      organisationId: await organisationOfUser(trx, user),
      groupId: user.group_id,
      after: apiTokenView(row),
    });
    return { token, tokenId: row.id, userId: user.id, email: user.email, expiresAt };
  }
}
