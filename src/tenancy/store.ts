import type { Knex } from "knex";
import type { Role } from "./roles.js";

export interface UserRow {
  id: string;
  email: string;
  name: string;
  role: Role;
  organisation_id: string | null;
  group_id: string | null;
  active: boolean;
  created_at: Date;
  updated_at: Date;
}

export interface ApiTokenRow {
  id: string;
  user_id: string;
  name: string | null;
  token_hash: string;
  created_at: Date;
  expires_at: Date | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

export interface AuditEventInput {
  actorUserId: string | null;
  actorTokenId: string | null;
  actorLabel: string;
  action: string;
  targetType: string;
  targetId: string | null;
  organisationId?: string | null;
  groupId?: string | null;
  before?: unknown;
  after?: unknown;
  requestId?: string | null;
  occurredAt: Date;
}

/** Tenancy SQL. Every function takes the knex or transaction to run on. */
export const tenancyStore = {
  async countUsers(db: Knex): Promise<number> {
    const row = await db("users").count<{ count: string | number }>({ count: "*" }).first();
    return Number(row?.count ?? 0);
  },

  async findUserByEmail(db: Knex, email: string): Promise<UserRow | undefined> {
    return db<UserRow>("users").whereRaw("lower(email) = lower(?)", [email]).first();
  },

  async findFirstActiveOperator(db: Knex): Promise<UserRow | undefined> {
    return db<UserRow>("users").where({ role: "operator", active: true }).orderBy("created_at").first();
  },

  async insertUser(
    db: Knex,
    user: Pick<UserRow, "id" | "email" | "name" | "role" | "organisation_id" | "group_id">,
    now: Date,
  ): Promise<UserRow> {
    const [row] = await db<UserRow>("users")
      .insert({ ...user, active: true, created_at: now, updated_at: now })
      .returning("*");
    return row as UserRow;
  },

  async insertApiToken(
    db: Knex,
    token: Pick<ApiTokenRow, "id" | "user_id" | "name" | "token_hash" | "expires_at">,
    now: Date,
  ): Promise<ApiTokenRow> {
    const [row] = await db<ApiTokenRow>("api_tokens")
      .insert({ ...token, created_at: now })
      .returning("*");
    return row as ApiTokenRow;
  },

  /** The user behind a token that is neither revoked nor expired, if that user is active. */
  async findUserOfUsableToken(
    db: Knex,
    tokenHash: string,
    now: Date,
  ): Promise<(UserRow & { token_id: string }) | undefined> {
    return db("api_tokens as t")
      .join("users as u", "u.id", "t.user_id")
      .where("t.token_hash", tokenHash)
      .whereNull("t.revoked_at")
      .where((q) => q.whereNull("t.expires_at").orWhere("t.expires_at", ">", now))
      .where("u.active", true)
      .first("u.*", "t.id as token_id");
  },

  async touchApiToken(db: Knex, tokenId: string, now: Date): Promise<void> {
    await db("api_tokens").where({ id: tokenId }).update({ last_used_at: now });
  },

  async insertAuditEvent(db: Knex, event: AuditEventInput): Promise<void> {
    await db("audit_events").insert({
      occurred_at: event.occurredAt,
      actor_user_id: event.actorUserId,
      actor_token_id: event.actorTokenId,
      actor_label: event.actorLabel,
      action: event.action,
      target_type: event.targetType,
      target_id: event.targetId,
      organisation_id: event.organisationId ?? null,
      group_id: event.groupId ?? null,
      before: event.before === undefined ? null : JSON.stringify(event.before),
      after: event.after === undefined ? null : JSON.stringify(event.after),
      request_id: event.requestId ?? null,
    });
  },
};
