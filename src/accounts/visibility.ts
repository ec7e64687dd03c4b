import type { Knex } from "knex";
import { ForbiddenError, NotFoundError, ValidationError } from "../errors.js";
import type { Principal, Scope } from "../tenancy/roles.js";
import { type GroupRow, tenancyStore } from "../tenancy/store.js";
import { type AccountRow, type ProfileRow, accountsStore as store } from "./store.js";

/** What a caller may see and change of profiles and accounts, shared by the accounts parts. */

const profileWriters = ["operator", "company_admin"] as const;

export function assertProfileWriter(actor: Principal): void {
  if (!(profileWriters as readonly string[]).includes(actor.role)) {
    throw new ForbiddenError(`a ${actor.role} cannot change provisioning profiles`);
  }
}

export async function visibleProfile(
  db: Knex,
  scope: Scope,
  id: string,
  forUpdate = false,
): Promise<ProfileRow> {
  const row = await store.findVisibleProfile(db, scope, id, forUpdate);
  if (!row) throw new NotFoundError("no such profile");
  return row;
}

export async function visibleAccount(
  db: Knex,
  scope: Scope,
  id: string,
  forUpdate = false,
): Promise<AccountRow> {
  const row = await store.findVisibleAccount(db, scope, id, forUpdate);
  if (!row) throw new NotFoundError("no such account");
  return row;
}

/** The profile an account of this group gets: the one chosen, else the group's default. */
export async function resolveProfile(
  db: Knex,
  scope: Scope,
  group: GroupRow,
  profileId: string | null,
  path: string,
): Promise<ProfileRow> {
  const id = profileId ?? group.default_profile_id ?? null;
  if (!id) throw new ValidationError([{ path, message: "the group has no default profile: choose one" }]);
  const profile = await store.findVisibleProfile(db, scope, id);
  if (!profile || profile.organisation_id !== group.organisation_id) {
    throw new ValidationError([{ path, message: "no such profile in the group's organisation" }]);
  }
  return profile;
}

/** The profile an account runs with: its own, else its group's default. */
export async function profileInEffect(db: Knex, row: AccountRow): Promise<ProfileRow> {
  const group = (await tenancyStore.findGroup(db, row.group_id)) as GroupRow;
  const id = row.profile_id ?? group.default_profile_id;
  const profile = id ? await store.findProfile(db, id) : undefined;
  if (!profile) throw new Error(`account ${row.id} has no profile in effect`);
  return profile;
}
