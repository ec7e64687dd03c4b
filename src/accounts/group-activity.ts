import type { Knex } from "knex";
import { ConflictError } from "../errors.js";
import type { GroupAccess } from "./subscribers.js";

/**
 * No account is created in, imported into or moved into an inactive organisation or group (or a
 * sub-group of an inactive group): it could not work there, and reactivating must not bring back
 * accounts nobody saw being made.
 */
export async function assertGroupTakesAccounts(
  tenancy: GroupAccess,
  db: Knex,
  groupId: string,
  path: string,
): Promise<void> {
  const inactive = await tenancy.inactiveTenantOfGroup(db, groupId);
  if (inactive === "organisation") {
    throw new ConflictError(`${path}: the group's organisation is inactive; reactivate it first`);
  }
  if (inactive === "group") {
    throw new ConflictError(`${path}: the group (or a group above it) is inactive; reactivate it first`);
  }
}
