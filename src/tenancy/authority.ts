import type { Knex } from "knex";
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from "../errors.js";
import { grantableRoles, type Principal, type Scope, writerRoles } from "./roles.js";
import {
  type GroupRow,
  groupSubtree,
  type OrganisationRow,
  tenancyStore as store,
  type UserRow,
} from "./store.js";

/** Visibility and authority: what a caller may see and change, shared by the tenancy parts. */

export const fieldError = (path: string, message: string) => new ValidationError([{ path, message }]);

export async function visibleOrganisation(
  db: Knex,
  scope: Scope,
  id: string,
  forUpdate = false,
): Promise<OrganisationRow> {
  const row = await store.findVisibleOrganisation(db, scope, id, forUpdate);
  if (!row) throw new NotFoundError("no such organisation");
  return row;
}

export async function visibleGroup(db: Knex, scope: Scope, id: string, forUpdate = false): Promise<GroupRow> {
  const row = await store.findVisibleGroup(db, scope, id, forUpdate);
  if (!row) throw new NotFoundError("no such group");
  return row;
}

export async function visibleUser(db: Knex, scope: Scope, id: string, forUpdate = false): Promise<UserRow> {
  const row = await store.findVisibleUser(db, scope, id, forUpdate);
  if (!row) throw new NotFoundError("no such user");
  return row;
}

/** A group named in a request body: invisible and missing look the same. */
export async function referencedGroup(db: Knex, scope: Scope, id: string, path: string): Promise<GroupRow> {
  const row = await store.findVisibleGroup(db, scope, id);
  if (!row) throw fieldError(path, "no such group");
  return row;
}

/**
 * A group the actor may change things in (for another capability's write, such as an
 * account in it), read in the caller's transaction. Invisible and missing look the same.
 */
export async function groupForWrite(db: Knex, actor: Principal, id: string, path: string): Promise<GroupRow> {
  if (!writerRoles.includes(actor.role)) throw new ForbiddenError(`a ${actor.role} can only read`);
  return referencedGroup(db, actor.scope, id, path);
}

/**
 * Checks that the actor may give a user this role and scope (never a role above its own,
 * never outside its own scope); returns the user's organisation.
 */
export async function assertMayHold(
  db: Knex,
  actor: Principal,
  state: Pick<UserRow, "role" | "organisation_id" | "group_id">,
): Promise<string | null> {
  if (!grantableRoles[actor.role].includes(state.role)) {
    throw new ForbiddenError(`a ${actor.role} cannot manage users with role ${state.role}`);
  }
  if (state.role === "operator") {
    if (state.organisation_id) throw fieldError("body.organisationId", "an operator has no organisation");
    if (state.group_id) throw fieldError("body.groupId", "an operator has no group");
    return null;
  }
  if (state.role === "company_admin") {
    if (state.group_id) throw fieldError("body.groupId", "a company_admin has an organisation, not a group");
    if (!state.organisation_id) throw fieldError("body.organisationId", "required for a company_admin");
    const org = await store.findVisibleOrganisation(db, actor.scope, state.organisation_id);
    if (!org) throw fieldError("body.organisationId", "no such organisation");
    return state.organisation_id;
  }
  if (state.organisation_id)
    throw fieldError("body.organisationId", `a ${state.role} has a group, not an organisation`);
  if (!state.group_id) throw fieldError("body.groupId", `required for a ${state.role}`);
  const group = await referencedGroup(db, actor.scope, state.group_id, "body.groupId");
  return group.organisation_id;
}

export async function assertMayManageTokensOf(db: Knex, actor: Principal, user: UserRow): Promise<void> {
  if (user.id === actor.userId) return;
  if (!writerRoles.includes(actor.role))
    throw new ForbiddenError(`a ${actor.role} can manage only their own tokens`);
  await assertMayHold(db, actor, user);
  await assertAssignmentsWithin(db, actor, user.id);
}

/**
 * A group admin manages a user only when every group the user is assigned to lies within its own
 * groups: a user who also oversees other groups is the organisation's to change.
 */
export async function assertAssignmentsWithin(db: Knex, actor: Principal, userId: string): Promise<void> {
  if (actor.scope.kind !== "group") return;
  const outside = await db("group_members")
    .where("user_id", userId)
    .whereNotIn("group_id", groupSubtree(db, actor.scope.groupIds))
    .first("group_id");
  if (outside) throw new ForbiddenError("the user is also assigned to groups outside yours");
}

export async function assertAnotherOperator(db: Knex, userId: string): Promise<void> {
  if ((await store.countActiveOperators(db, userId)) === 0) {
    throw new ConflictError("this is the last active operator: create another one first");
  }
}

export async function organisationOfUser(db: Knex, user: UserRow): Promise<string | null> {
  if (user.organisation_id || !user.group_id) return user.organisation_id;
  const group = await store.findGroup(db, user.group_id);
  return group?.organisation_id ?? null;
}
