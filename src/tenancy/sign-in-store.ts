import type { Knex } from "knex";
import { assignedGroupIds, type UserRow, whereUserMaySignIn } from "./store.js";

export interface SessionRow {
  id: string;
  user_id: string;
  secret_hash: string;
  created_at: Date;
  last_seen_at: Date;
  expires_at: Date;
  address: string | null;
  user_agent: string | null;
}

export type PasswordTokenPurpose = "invitation" | "reset";

export interface PasswordTokenRow {
  id: string;
  user_id: string;
  token_hash: string;
  purpose: PasswordTokenPurpose;
  created_at: Date;
  expires_at: Date;
  used_at: Date | null;
}

/** A session's user as authentication needs them: the row and the organisation of their group. */
export type SessionUserRow = UserRow & {
  session_id: string;
  session_created_at: Date;
  session_last_seen_at: Date;
  session_expires_at: Date;
  group_organisation_id: string | null;
  group_ids: string[];
};

/** The SQL of signing in: password hashes, console sessions, invitation and reset tokens. */
export const signInStore = {
  async passwordHashOf(db: Knex, userId: string): Promise<string | undefined> {
    const row = await db("user_passwords").where({ user_id: userId }).first("hash");
    return row?.hash as string | undefined;
  },

  async setPasswordHash(db: Knex, userId: string, hash: string, now: Date): Promise<void> {
    await db("user_passwords")
      .insert({ user_id: userId, hash, changed_at: now })
      .onConflict("user_id")
      .merge({ hash, changed_at: now });
  },

  /** Whether each user has a password, for the user views. */
  async usersWithPassword(db: Knex, userIds: string[]): Promise<Set<string>> {
    if (userIds.length === 0) return new Set();
    const rows = await db("user_passwords").whereIn("user_id", userIds).select("user_id");
    return new Set(rows.map((row: { user_id: string }) => row.user_id));
  },

  /** Whether the user is active and so is their organisation (a company or group user's). */
  async userMaySignIn(db: Knex, userId: string): Promise<boolean> {
    const row = await db("users as u")
      .leftJoin("groups as g", "g.id", "u.group_id")
      .where("u.id", userId)
      .where((q) => whereUserMaySignIn(db, q))
      .first("u.id");
    return row !== undefined;
  },

  // Sessions

  async insertSession(db: Knex, row: SessionRow): Promise<SessionRow> {
    const [inserted] = await db<SessionRow>("console_sessions").insert(row).returning("*");
    return inserted as SessionRow;
  },

  /**
   * The session of a cookie secret with its user, when the session is within both its ends and
   * the user may sign in (active, in an active organisation): the same rule as API tokens.
   */
  async findUsableSession(
    db: Knex,
    secretHash: string,
    now: Date,
    idleSeconds: number,
  ): Promise<SessionUserRow | undefined> {
    const idleSince = new Date(now.getTime() - idleSeconds * 1000);
    return db("console_sessions as s")
      .join("users as u", "u.id", "s.user_id")
      .leftJoin("groups as g", "g.id", "u.group_id")
      .where("s.secret_hash", secretHash)
      .where("s.expires_at", ">", now)
      .where("s.last_seen_at", ">", idleSince)
      .where((q) => whereUserMaySignIn(db, q))
      .first(
        "u.*",
        "s.id as session_id",
        "s.created_at as session_created_at",
        "s.last_seen_at as session_last_seen_at",
        "s.expires_at as session_expires_at",
        "g.organisation_id as group_organisation_id",
        assignedGroupIds(db),
      );
  },

  async touchSession(db: Knex, id: string, now: Date): Promise<void> {
    await db("console_sessions").where({ id }).update({ last_seen_at: now });
  },

  /** The user's sessions that have not ended, newest first. */
  async sessionsOfUser(db: Knex, userId: string, now: Date, idleSeconds: number): Promise<SessionRow[]> {
    const idleSince = new Date(now.getTime() - idleSeconds * 1000);
    return db<SessionRow>("console_sessions")
      .where({ user_id: userId })
      .where("expires_at", ">", now)
      .where("last_seen_at", ">", idleSince)
      .orderBy([
        { column: "created_at", order: "desc" },
        { column: "id", order: "desc" },
      ]);
  },

  async findSessionOfUser(db: Knex, userId: string, id: string): Promise<SessionRow | undefined> {
    return db<SessionRow>("console_sessions").where({ id, user_id: userId }).first();
  },

  async deleteSession(db: Knex, id: string): Promise<void> {
    await db("console_sessions").where({ id }).delete();
  },

  /** Ends a user's sessions, but the one kept (the caller's own on a password change). Returns how many. */
  async deleteSessionsOfUser(db: Knex, userId: string, keepSessionId: string | null = null): Promise<number> {
    const q = db("console_sessions").where({ user_id: userId });
    if (keepSessionId) q.whereNot({ id: keepSessionId });
    return q.delete();
  },

  /** Drops sessions past their absolute or idle end, so the table does not grow without end. */
  async deleteEndedSessions(db: Knex, now: Date, idleSeconds: number): Promise<number> {
    const idleSince = new Date(now.getTime() - idleSeconds * 1000);
    return db("console_sessions")
      .where("expires_at", "<=", now)
      .orWhere("last_seen_at", "<=", idleSince)
      .delete();
  },

  // Invitation and reset tokens

  async insertPasswordToken(db: Knex, row: PasswordTokenRow): Promise<void> {
    await db("password_tokens").insert(row);
  },

  /** Locks the token's row, so two uses of one link cannot both succeed. */
  async findPasswordTokenForUpdate(db: Knex, tokenHash: string): Promise<PasswordTokenRow | undefined> {
    return db<PasswordTokenRow>("password_tokens").where({ token_hash: tokenHash }).forUpdate().first();
  },

  async markPasswordTokenUsed(db: Knex, id: string, now: Date): Promise<void> {
    await db("password_tokens").where({ id }).update({ used_at: now });
  },

  /** A new link replaces the user's earlier unused ones, and setting a password spends them all. */
  async spendPasswordTokensOfUser(db: Knex, userId: string, now: Date): Promise<void> {
    await db("password_tokens").where({ user_id: userId }).whereNull("used_at").update({ used_at: now });
  },
};
