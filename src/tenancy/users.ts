import type { Knex } from "knex";
import type { z } from "zod";
import type { Actor } from "../audit/actor.js";
import type { AuditService } from "../audit/service.js";
import type { Clock } from "../clock.js";
import { changedColumns, isEmptyChange } from "../db/changes.js";
import { withConflicts } from "../db/constraints.js";
import type { Database } from "../db/database.js";
import { allOf, pageOf } from "../db/listing.js";
import type { Page } from "../http/list.js";
import { ids } from "../ids.js";
import { assertAnotherOperator, assertAssignmentsWithin, assertMayHold, visibleUser } from "./authority.js";
import { isGroupRole } from "./roles.js";
import type * as schemas from "./schemas.js";
import { signInStore } from "./sign-in-store.js";
import { tenancyStore as store, type UserRow } from "./store.js";
import { type User, userView } from "./views.js";

type Input<S extends z.ZodType> = z.output<S>;

export class Users {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly audit: AuditService,
  ) {}

  list(actor: Actor, query: Input<typeof schemas.userListQuery>): Promise<Page<User>> {
    return pageOf(store.userList(this.db.knex, actor.principal.scope, query), query, userView);
  }

  export(actor: Actor, query: Input<typeof schemas.userExportQuery>): AsyncIterable<User> {
    return allOf(store.userList(this.db.knex, actor.principal.scope, query), "users.id", userView);
  }

  async get(actor: Actor, id: string): Promise<User> {
    return userView(await visibleUser(this.db.knex, actor.principal.scope, id));
  }

  async create(actor: Actor, body: Input<typeof schemas.createUserBody>): Promise<User> {
    return this.db.knex.transaction(async (trx) => {
      const state = {
        role: body.role,
        organisation_id: body.organisationId ?? null,
        group_id: body.groupId ?? null,
      };
      const organisationId = await assertMayHold(trx, actor.principal, state);
      const inserted = await withConflicts(() =>
        store.insertUser(
          trx,
          { id: ids.uuid(), email: body.email, name: body.name, ...state },
          this.clock.now(),
        ),
      );
      await this.followFirstGroup(trx, actor, null, inserted);
      const row = await this.reread(trx, actor, inserted.id);
      const after = userView(row);
      await this.audit.record(trx, actor, {
        action: "user.created",
        targetType: "user",
        targetId: row.id,
        organisationId,
        groupId: row.group_id,
        after,
      });
      return after;
    });
  }

  async update(actor: Actor, id: string, body: Input<typeof schemas.updateUserBody>): Promise<User> {
    return this.db.knex.transaction(async (trx) => {
      const before = await visibleUser(trx, actor.principal.scope, id, true);
      await assertMayHold(trx, actor.principal, before);
      await assertAssignmentsWithin(trx, actor.principal, id);
      const role = body.role ?? before.role;
      // A new role brings its own kind of scope: the other kind is cleared unless given.
      const roleChanged = role !== before.role;
      const state = {
        role,
        organisation_id:
          body.organisationId !== undefined
            ? body.organisationId
            : roleChanged
              ? null
              : before.organisation_id,
        group_id: body.groupId !== undefined ? body.groupId : roleChanged ? null : before.group_id,
      };
      const organisationId = await assertMayHold(trx, actor.principal, state);
      const active = body.active ?? before.active;
      if (before.role === "operator" && before.active && (role !== "operator" || !active)) {
        await assertAnotherOperator(trx, id);
      }
      const changes = changedColumns(before, {
        ...state,
        ...(body.email !== undefined ? { email: body.email } : {}),
        ...(body.name !== undefined ? { name: body.name } : {}),
        active,
      });
      if (isEmptyChange(changes)) return userView(before);
      const updated = await withConflicts(() => store.updateUser(trx, id, changes, this.clock.now()));
      await this.followFirstGroup(trx, actor, before, updated);
      // A deactivated user's console sessions end with the change (their API tokens are refused).
      if (changes.active === false) await signInStore.deleteSessionsOfUser(trx, id);
      const row = await this.reread(trx, actor, id);
      const after = userView(row);
      await this.audit.record(trx, actor, {
        action: "user.updated",
        targetType: "user",
        targetId: id,
        organisationId,
        groupId: row.group_id,
        before: userView(before),
        after,
      });
      return after;
    });
  }

  async delete(actor: Actor, id: string): Promise<User> {
    return this.db.knex.transaction(async (trx) => {
      const row = await visibleUser(trx, actor.principal.scope, id, true);
      const organisationId = await assertMayHold(trx, actor.principal, row);
      await assertAssignmentsWithin(trx, actor.principal, id);
      if (row.role === "operator" && row.active) await assertAnotherOperator(trx, id);
      await store.deleteUser(trx, id);
      const before = userView(row);
      await this.audit.record(trx, actor, {
        action: "user.deleted",
        targetType: "user",
        targetId: id,
        organisationId,
        groupId: row.group_id,
        before,
      });
      return before;
    });
  }

  /**
   * `groupId` is the user's first group and always one of its assignments: a new group user is
   * assigned to it; a changed `groupId` replaces that assignment (the others stay); a role
   * without groups drops them all.
   */
  private async followFirstGroup(trx: Knex, actor: Actor, before: UserRow | null, after: UserRow) {
    if (!isGroupRole(after.role) || !after.group_id) {
      if (before && isGroupRole(before.role)) await store.removeAllAssignments(trx, after.id);
      return;
    }
    if (before?.group_id === after.group_id && isGroupRole(before.role)) return;
    if (before?.group_id && isGroupRole(before.role)) {
      await store.removeGroupMembers(trx, before.group_id, [after.id]);
    }
    await store.addGroupMembers(trx, after.group_id, [after.id], actor.principal.userId, this.clock.now());
  }

  /** The user as the caller sees it once written (with its assignments). */
  private async reread(trx: Knex, actor: Actor, id: string): Promise<UserRow> {
    const row =
      (await store.findVisibleUser(trx, actor.principal.scope, id)) ??
      (await store.findVisibleUser(trx, { kind: "all" }, id));
    return row as UserRow;
  }
}
