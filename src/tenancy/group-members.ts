import type { Knex } from "knex";
import type { z } from "zod";
import type { Actor } from "../audit/actor.js";
import type { AuditService } from "../audit/service.js";
import type { Clock } from "../clock.js";
import type { Database } from "../db/database.js";
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from "../errors.js";
import { visibleGroup, visibleUser } from "./authority.js";
import { isGroupRole } from "./roles.js";
import type * as schemas from "./schemas.js";
import { type GroupRow, tenancyStore as store, type UserRow } from "./store.js";
import { type Group, groupView, type User, userView } from "./views.js";

type Input<S extends z.ZodType> = z.output<S>;

export interface GroupMembersView {
  groupId: string;
  userIds: string[];
  users: User[];
}

/**
 * Who may change a group's members: operators and the organisation's company admins. A group
 * admin reads them but does not assign: an assignment widens or narrows what another person of
 * the organisation sees, which the company decides, and a group admin could otherwise drop its
 * own last group (docs/decisions.md, issue 16).
 */
const assigners = ["operator", "company_admin"] as const;

/** Users assigned to groups, many to many: the assignments are the scopes of group users. */
export class GroupMembers {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly audit: AuditService,
  ) {}

  async get(actor: Actor, groupId: string): Promise<GroupMembersView> {
    const group = await visibleGroup(this.db.knex, actor.principal.scope, groupId);
    return this.view(this.db.knex, actor, group);
  }

  /** The groups a user is assigned to, as far as the caller sees them. */
  async groupsOfUser(actor: Actor, userId: string): Promise<{ userId: string; items: Group[] }> {
    await visibleUser(this.db.knex, actor.principal.scope, userId);
    const rows = (await store.userGroups(this.db.knex, actor.principal.scope, userId)) as GroupRow[];
    return { userId, items: rows.map(groupView) };
  }

  /** Makes `userIds` the group's members: those left out lose the group, the others gain it. */
  async replace(
    actor: Actor,
    groupId: string,
    body: Input<typeof schemas.replaceGroupMembersBody>,
  ): Promise<GroupMembersView> {
    const scope = actor.principal.scope;
    if (!(assigners as readonly string[]).includes(actor.principal.role)) {
      throw new ForbiddenError(`a ${actor.principal.role} cannot assign users to groups`);
    }
    return this.db.knex.transaction(async (trx) => {
      // The group's row lock serialises two replacements of the same group.
      const group = await visibleGroup(trx, scope, groupId, true);
      const wanted = [...new Set(body.userIds)];
      await this.assertAssignable(trx, actor, group, body.userIds);
      const current = (await store.groupMembers(trx, groupId)).map((row) => row.user_id);
      const added = wanted.filter((id) => !current.includes(id));
      const removed = current.filter((id) => !wanted.includes(id));
      if (added.length === 0 && removed.length === 0) return this.view(trx, actor, group);

      const now = this.clock.now();
      const firstGroupMoves = await this.removeMembers(trx, group, removed, now);
      await store.addGroupMembers(trx, groupId, added, actor.principal.userId, now);
      const after = await this.view(trx, actor, group);
      await this.audit.record(
        trx,
        actor,
        {
          action: "group.members_replaced",
          targetType: "group",
          targetId: groupId,
          organisationId: group.organisation_id,
          groupId,
          before: { userIds: current },
          after: { userIds: after.userIds, added, removed },
        },
        // A user whose first group was this one now shows another as `groupId`.
        ...firstGroupMoves.map(({ before, row }) => ({
          action: "user.updated",
          targetType: "user",
          targetId: row.id,
          organisationId: group.organisation_id,
          groupId: row.group_id,
          before: userView(before),
          after: userView(row),
        })),
      );
      return after;
    });
  }

  /**
   * The users named in a replacement: each visible to the caller, of the group's organisation
   * (anything else is not found, as another tenant's ids must be) and of a group role.
   */
  private async assertAssignable(
    trx: Knex,
    actor: Actor,
    group: GroupRow,
    userIds: readonly string[],
  ): Promise<void> {
    const wrongRole: Array<{ path: string; message: string }> = [];
    for (const [index, id] of userIds.entries()) {
      const path = `body.userIds[${index}]`;
      const row = await store.findVisibleUser(trx, actor.principal.scope, id, true);
      const organisationId = row ? await this.organisationOf(trx, row) : null;
      if (!row || organisationId !== group.organisation_id) {
        throw new NotFoundError(`${path}: no such user in the group's organisation`);
      }
      if (!isGroupRole(row.role)) {
        wrongRole.push({ path, message: `a ${row.role} is not assigned to groups` });
      }
    }
    if (wrongRole.length > 0) throw new ValidationError(wrongRole);
  }

  private async organisationOf(trx: Knex, row: UserRow): Promise<string | null> {
    if (row.organisation_id) return row.organisation_id;
    if (!row.group_id) return null;
    return (await store.findGroup(trx, row.group_id))?.organisation_id ?? null;
  }

  /**
   * Removes the assignments; a user whose first group this was gets its oldest remaining one as
   * `groupId`. A user would be left with no group at all: refused (409), nothing changes.
   */
  private async removeMembers(
    trx: Knex,
    group: GroupRow,
    userIds: readonly string[],
    now: Date,
  ): Promise<Array<{ before: UserRow; row: UserRow }>> {
    const moves: Array<{ before: UserRow; row: UserRow }> = [];
    const stranded: string[] = [];
    // In id order, so two replacements touching the same users cannot deadlock.
    for (const userId of [...userIds].sort()) {
      const before = (await store.findVisibleUser(trx, { kind: "all" }, userId, true)) as UserRow;
      const remaining = (await store.assignmentsOfUser(trx, userId)).filter((a) => a.group_id !== group.id);
      const first = remaining[0];
      if (!first) {
        stranded.push(before.email);
        continue;
      }
      if (before.group_id === group.id) {
        const row = await store.updateUser(trx, userId, { group_id: first.group_id }, now);
        moves.push({ before, row: { ...row, group_ids: remaining.map((a) => a.group_id) } });
      }
    }
    if (stranded.length > 0) {
      const message = `this is the only group of ${stranded.join(", ")}: assign them another group first, or delete them`;
      throw new ConflictError(message, [{ path: "body.userIds", message }]);
    }
    await store.removeGroupMembers(trx, group.id, userIds);
    return moves;
  }

  private async view(db: Knex, actor: Actor, group: GroupRow): Promise<GroupMembersView> {
    const members = await store.groupMembers(db, group.id);
    const userIds = members.map((row) => row.user_id);
    const rows = (await store
      .visibleUsers(db, actor.principal.scope)
      .whereIn("users.id", userIds)) as UserRow[];
    const byId = new Map(rows.map((row) => [row.id, row]));
    const users = userIds.flatMap((id) => {
      const row = byId.get(id);
      return row ? [userView(row)] : [];
    });
    return { groupId: group.id, userIds, users };
  }
}
