import type { Knex } from "knex";
import { applyListing } from "../db/listing.js";
import { parseSort } from "../http/list.js";
import { selectDeviceCounts, whereHasActiveDevices } from "../subscriptions/group-counts.js";
import type { Role, Scope } from "./roles.js";

export interface OrganisationRow {
  id: string;
  name: string;
  active: boolean;
  /** The SIP domains the operator assigned to it, sorted (read with the row, not a column). */
  sip_domains: string[];
  created_at: Date;
  updated_at: Date;
}

/** Why an account's organisation or group tree stops it working; null when both are active. */
export type InactiveTenant = "organisation" | "group" | null;

export interface GroupRow {
  id: string;
  organisation_id: string;
  parent_id: string | null;
  name: string;
  reference: string | null;
  it_email: string | null;
  active: boolean;
  /** This group and every group above it are active (kept by refreshTreeActive). */
  tree_active: boolean;
  default_profile_id: string | null;
  created_at: Date;
  updated_at: Date;
}

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
  /**
   * The groups the user is assigned to, oldest first, as far as the reading scope sees them:
   * read with the row by `visibleUsers`, absent on the rows that writes return.
   */
  group_ids?: string[];
}

/** One user assigned to one group. */
export interface GroupMemberRow {
  group_id: string;
  user_id: string;
  created_at: Date;
  created_by: string | null;
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

/** The ids of one or several groups and all their sub-groups, as a subquery. */
export function groupSubtree(db: Knex, rootGroupIds: string | readonly string[]): Knex.QueryBuilder {
  const roots = typeof rootGroupIds === "string" ? [rootGroupIds] : [...rootGroupIds];
  return db
    .withRecursive("subtree", ["id"], (seed) =>
      seed
        .select("id")
        .from("groups")
        .whereIn("id", roots)
        .unionAll((step) =>
          step.select("g.id").from("groups as g").join("subtree as s", "g.parent_id", "s.id"),
        ),
    )
    .select("id")
    .from("subtree");
}

/** What the lists take besides paging: search, sort and their own filters. */
interface ListFilters {
  q?: string | undefined;
  sort: string;
}

/** Serialises the first-start bootstrap across processes sharing one PostgreSQL. */
const bootstrapLockKey = 0x70726f76; // "prov"

/**
 * Keeps the rows whose user `u` (its group joined as `g`) may sign in: the user is active, and so
 * is their organisation (a company user's own, a group user's through the group).
 */
export function whereUserMaySignIn(db: Knex, q: Knex.QueryBuilder): Knex.QueryBuilder {
  return q
    .where("u.active", true)
    .whereNotExists((inactive) =>
      inactive
        .select(db.raw("1"))
        .from("organisations as o")
        .whereRaw("o.id = coalesce(u.organisation_id, g.organisation_id)")
        .where("o.active", false),
    );
}

/**
 * The groups user `u` is assigned to, oldest first, as the column `group_ids`: read with the
 * credential on every request, so an assignment removed counts at once.
 */
export function assignedGroupIds(db: Knex): Knex.Raw {
  return db.raw(
    `coalesce((select jsonb_agg(gm.group_id order by gm.created_at, gm.group_id)
                 from group_members gm where gm.user_id = u.id), '[]'::jsonb) as group_ids`,
  );
}

/** Tenancy SQL. Every function takes the knex or transaction to run on; scope filters live here. */
export const tenancyStore = {
  /** Holds the first-start lock until the transaction ends. */
  async lockBootstrap(trx: Knex): Promise<void> {
    await trx.raw("select pg_advisory_xact_lock(?)", [bootstrapLockKey]);
  },

  // Organisations

  visibleOrganisations(db: Knex, scope: Scope): Knex.QueryBuilder {
    const query = db<OrganisationRow>("organisations").select(
      "organisations.*",
      db.raw(
        `coalesce((select jsonb_agg(d.sip_domain order by d.sip_domain) from organisation_sip_domains d
                    where d.organisation_id = organisations.id), '[]'::jsonb) as sip_domains`,
      ),
    );
    if (scope.kind !== "all") query.where("organisations.id", scope.organisationId);
    return query;
  },

  async findVisibleOrganisation(
    db: Knex,
    scope: Scope,
    id: string,
    forUpdate = false,
  ): Promise<OrganisationRow | undefined> {
    const q = tenancyStore.visibleOrganisations(db, scope).where("organisations.id", id);
    return (forUpdate ? q.forUpdate() : q).first();
  },

  organisationList(
    db: Knex,
    scope: Scope,
    query: ListFilters & { active?: boolean | undefined },
  ): Knex.QueryBuilder {
    const q = tenancyStore.visibleOrganisations(db, scope);
    if (query.active !== undefined) q.where("organisations.active", query.active);
    return applyListing(q, {
      q: query.q,
      searchColumns: ["organisations.name"],
      sort: parseSort(query.sort),
      sortColumns: { name: "organisations.name", createdAt: "organisations.created_at" },
      tieBreaker: "organisations.id",
    });
  },

  /** Locks an organisation's row until the transaction ends (serialises moves of its groups). */
  async lockOrganisation(trx: Knex, id: string): Promise<void> {
    await trx("organisations").where({ id }).forUpdate().first();
  },

  async insertOrganisation(db: Knex, row: Pick<OrganisationRow, "id" | "name">, now: Date): Promise<void> {
    await db("organisations").insert({ ...row, active: true, created_at: now, updated_at: now });
  },

  async updateOrganisation(
    db: Knex,
    id: string,
    changes: Partial<Pick<OrganisationRow, "name" | "active">>,
    now: Date,
  ): Promise<void> {
    await db("organisations")
      .where({ id })
      .update({ ...changes, updated_at: now });
  },

  // SIP domains of organisations

  /** Which of these domains belong to an organisation other than this one. */
  async sipDomainsOwnedElsewhere(db: Knex, organisationId: string, domains: string[]): Promise<string[]> {
    if (domains.length === 0) return [];
    const rows = (await db("organisation_sip_domains")
      .whereIn("sip_domain", domains)
      .whereNot("organisation_id", organisationId)
      .select("sip_domain")) as Array<{ sip_domain: string }>;
    return rows.map((row) => row.sip_domain);
  },

  /** The organisation a SIP domain is assigned to, if any. */
  async sipDomainOwner(db: Knex, domain: string): Promise<string | undefined> {
    const row = (await db("organisation_sip_domains")
      .where({ sip_domain: domain })
      .first("organisation_id")) as { organisation_id: string } | undefined;
    return row?.organisation_id;
  },

  async addSipDomains(db: Knex, organisationId: string, domains: string[], now: Date): Promise<void> {
    if (domains.length === 0) return;
    await db("organisation_sip_domains").insert(
      domains.map((sip_domain) => ({ sip_domain, organisation_id: organisationId, created_at: now })),
    );
  },

  async removeSipDomains(db: Knex, organisationId: string, domains: string[]): Promise<void> {
    if (domains.length === 0) return;
    await db("organisation_sip_domains")
      .where({ organisation_id: organisationId })
      .whereIn("sip_domain", domains)
      .delete();
  },

  /** Of these domains of the organisation, those its profiles still use. */
  async sipDomainsInUse(db: Knex, organisationId: string, domains: string[]): Promise<string[]> {
    if (domains.length === 0) return [];
    const rows = (await db("profiles")
      .where({ organisation_id: organisationId })
      .whereIn("sip_domain", domains)
      .distinct("sip_domain")) as Array<{ sip_domain: string }>;
    return rows.map((row) => row.sip_domain);
  },

  // Active organisations and groups

  /**
   * Whether a group can hold working accounts: its organisation, the group and every group above
   * it are active. Inactive tenancy does not touch the accounts' own status; it is applied where
   * the status is read (authentication, creation), so reactivating restores what was there.
   */
  async inactiveTenantOfGroup(db: Knex, groupId: string): Promise<InactiveTenant> {
    const row = (await db("groups as g")
      .join("organisations as o", "o.id", "g.organisation_id")
      .where("g.id", groupId)
      .first(
        db.raw(
          `case when not o.active then 'organisation' when not g.tree_active then 'group' end as inactive_tenant`,
        ),
      )) as { inactive_tenant: InactiveTenant } | undefined;
    return row?.inactive_tenant ?? null;
  },

  /**
   * Recomputes `tree_active` (the group and every group above it active) for a group and its
   * subtree, after its active flag or its parent changed or it was created. Callers hold the
   * organisation's lock, so two changes in one tree cannot interleave.
   */
  async refreshTreeActive(db: Knex, rootGroupId: string): Promise<void> {
    await db.raw(
      `with recursive tree (id, ok) as (
         select g.id, g.active and coalesce((select p.tree_active from groups p where p.id = g.parent_id), true)
           from groups g where g.id = ?
         union all
         select g.id, tree.ok and g.active from groups g join tree on g.parent_id = tree.id)
       update groups set tree_active = tree.ok from tree
        where groups.id = tree.id and groups.tree_active <> tree.ok`,
      [rootGroupId],
    );
  },

  async deleteOrganisation(db: Knex, id: string): Promise<void> {
    await db("organisations").where({ id }).delete();
  },

  async organisationDependants(
    db: Knex,
    id: string,
  ): Promise<{ groups: number; users: number; profiles: number }> {
    const [groups] = await db("groups").where({ organisation_id: id }).count<{ n: string }[]>({ n: "*" });
    const [users] = await db("users").where({ organisation_id: id }).count<{ n: string }[]>({ n: "*" });
    const [profiles] = await db("profiles").where({ organisation_id: id }).count<{ n: string }[]>({ n: "*" });
    return {
      groups: Number(groups?.n ?? 0),
      users: Number(users?.n ?? 0),
      profiles: Number(profiles?.n ?? 0),
    };
  },

  // Groups

  visibleGroups(db: Knex, scope: Scope): Knex.QueryBuilder {
    const query = db<GroupRow>("groups").select("groups.*");
    if (scope.kind === "organisation") query.where("groups.organisation_id", scope.organisationId);
    if (scope.kind === "group") query.whereIn("groups.id", groupSubtree(db, scope.groupIds));
    return query;
  },

  async findVisibleGroup(
    db: Knex,
    scope: Scope,
    id: string,
    forUpdate = false,
  ): Promise<GroupRow | undefined> {
    const q = tenancyStore.visibleGroups(db, scope).where("groups.id", id);
    return (forUpdate ? q.forUpdate() : q).first();
  },

  /** The visible groups carrying one of these references (a reference is not unique). */
  async findVisibleGroupsByReference(db: Knex, scope: Scope, references: string[]): Promise<GroupRow[]> {
    if (references.length === 0) return [];
    return tenancyStore.visibleGroups(db, scope).whereIn("groups.reference", references);
  },

  async findGroup(db: Knex, id: string): Promise<GroupRow | undefined> {
    return db<GroupRow>("groups").where({ id }).first();
  },

  groupList(
    db: Knex,
    scope: Scope,
    query: ListFilters & {
      organisationId?: string | undefined;
      parentId?: string | undefined;
      active?: boolean | undefined;
      hasActiveDevices?: boolean | undefined;
    },
  ): Knex.QueryBuilder {
    const q = selectDeviceCounts(db, tenancyStore.visibleGroups(db, scope));
    if (query.hasActiveDevices !== undefined) whereHasActiveDevices(q, query.hasActiveDevices);
    if (query.organisationId) q.where("groups.organisation_id", query.organisationId);
    if (query.parentId === "none") q.whereNull("groups.parent_id");
    else if (query.parentId) q.where("groups.parent_id", query.parentId);
    if (query.active !== undefined) q.where("groups.active", query.active);
    return applyListing(q, {
      q: query.q,
      searchColumns: ["groups.name", "groups.reference", "groups.it_email"],
      sort: parseSort(query.sort),
      sortColumns: { name: "groups.name", reference: "groups.reference", createdAt: "groups.created_at" },
      tieBreaker: "groups.id",
    });
  },

  /** The ids of an organisation's groups, as a subquery. */
  groupsOfOrganisation(db: Knex, organisationId: string): Knex.QueryBuilder {
    return db("groups").select("id").where("organisation_id", organisationId);
  },

  async isInSubtree(db: Knex, rootGroupId: string, groupId: string): Promise<boolean> {
    const row = await groupSubtree(db, rootGroupId).where("id", groupId).first();
    return row !== undefined;
  },

  async insertGroup(
    db: Knex,
    row: Pick<
      GroupRow,
      "id" | "organisation_id" | "parent_id" | "name" | "reference" | "it_email" | "default_profile_id"
    >,
    now: Date,
  ): Promise<GroupRow> {
    const [inserted] = await db<GroupRow>("groups")
      .insert({ ...row, active: true, created_at: now, updated_at: now })
      .returning("*");
    return inserted as GroupRow;
  },

  async updateGroup(
    db: Knex,
    id: string,
    changes: Partial<
      Pick<GroupRow, "name" | "reference" | "it_email" | "active" | "parent_id" | "default_profile_id">
    >,
    now: Date,
  ): Promise<GroupRow> {
    const [row] = await db<GroupRow>("groups")
      .where({ id })
      .update({ ...changes, updated_at: now })
      .returning("*");
    return row as GroupRow;
  },

  async deleteGroup(db: Knex, id: string): Promise<void> {
    // Rows of deleted accounts only held their group for history; the audit trail keeps that.
    await db("accounts").where({ group_id: id }).whereNotNull("deleted_at").delete();
    await db("groups").where({ id }).delete();
  },

  async groupDependants(
    db: Knex,
    id: string,
  ): Promise<{ subGroups: number; users: number; accounts: number }> {
    const [subGroups] = await db("groups").where({ parent_id: id }).count<{ n: string }[]>({ n: "*" });
    const [users] = await db("users")
      .where((w) =>
        w
          .where({ group_id: id })
          .orWhereIn("id", db("group_members").select("user_id").where("group_id", id)),
      )
      .count<{ n: string }[]>({ n: "*" });
    // Deleted accounts keep their row for the audit trail; they do not hold a group back.
    const [accounts] = await db("accounts")
      .where({ group_id: id })
      .whereNull("deleted_at")
      .count<{ n: string }[]>({ n: "*" });
    return {
      subGroups: Number(subGroups?.n ?? 0),
      users: Number(users?.n ?? 0),
      accounts: Number(accounts?.n ?? 0),
    };
  },

  // Users

  visibleUsers(db: Knex, scope: Scope): Knex.QueryBuilder {
    const assigned = db("group_members as gm")
      .select(db.raw("coalesce(jsonb_agg(gm.group_id order by gm.created_at, gm.group_id), '[]'::jsonb)"))
      .whereRaw("gm.user_id = users.id");
    // A group admin sees the assignments within its own groups, not the organisation's other groups.
    if (scope.kind === "group") assigned.whereIn("gm.group_id", groupSubtree(db, scope.groupIds));
    const query = db<UserRow>("users").select("users.*", assigned.as("group_ids"));
    if (scope.kind === "organisation") {
      query.where((where) =>
        where
          .where("users.organisation_id", scope.organisationId)
          .orWhereIn(
            "users.group_id",
            db("groups").select("id").where("organisation_id", scope.organisationId),
          ),
      );
    }
    if (scope.kind === "group") {
      query.whereIn(
        "users.id",
        db("group_members").select("user_id").whereIn("group_id", groupSubtree(db, scope.groupIds)),
      );
    }
    return query;
  },

  async findVisibleUser(db: Knex, scope: Scope, id: string, forUpdate = false): Promise<UserRow | undefined> {
    const q = tenancyStore.visibleUsers(db, scope).where("users.id", id);
    return (forUpdate ? q.forUpdate() : q).first();
  },

  userList(
    db: Knex,
    scope: Scope,
    query: ListFilters & {
      role?: string | undefined;
      organisationId?: string | undefined;
      groupId?: string | undefined;
      active?: boolean | undefined;
    },
  ): Knex.QueryBuilder {
    const q = tenancyStore.visibleUsers(db, scope);
    if (query.role) q.where("users.role", query.role);
    if (query.organisationId) q.where("users.organisation_id", query.organisationId);
    if (query.groupId) {
      const groupId = query.groupId;
      q.whereIn("users.id", db("group_members").select("user_id").where("group_id", groupId));
    }
    if (query.active !== undefined) q.where("users.active", query.active);
    return applyListing(q, {
      q: query.q,
      searchColumns: ["users.email", "users.name"],
      sort: parseSort(query.sort),
      sortColumns: {
        email: "users.email",
        name: "users.name",
        role: "users.role",
        createdAt: "users.created_at",
      },
      tieBreaker: "users.id",
    });
  },

  async countUsers(db: Knex): Promise<number> {
    const row = await db("users").count<{ count: string | number }>({ count: "*" }).first();
    return Number(row?.count ?? 0);
  },

  async countActiveOperators(db: Knex, exceptUserId: string): Promise<number> {
    const [row] = await db("users")
      .where({ role: "operator", active: true })
      .whereNot({ id: exceptUserId })
      .count<{ n: string }[]>({ n: "*" });
    return Number(row?.n ?? 0);
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

  async updateUser(
    db: Knex,
    id: string,
    changes: Partial<Pick<UserRow, "email" | "name" | "role" | "organisation_id" | "group_id" | "active">>,
    now: Date,
  ): Promise<UserRow> {
    const [row] = await db<UserRow>("users")
      .where({ id })
      .update({ ...changes, updated_at: now })
      .returning("*");
    return row as UserRow;
  },

  async deleteUser(db: Knex, id: string): Promise<void> {
    await db("users").where({ id }).delete();
  },

  // API tokens

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

  tokensOfUser(db: Knex, userId: string): Knex.QueryBuilder {
    return db<ApiTokenRow>("api_tokens").where({ user_id: userId }).select("*");
  },

  tokenList(
    db: Knex,
    userId: string,
    query: ListFilters & { revoked?: boolean | undefined },
  ): Knex.QueryBuilder {
    const tokens = tenancyStore.tokensOfUser(db, userId);
    if (query.revoked !== undefined) {
      if (query.revoked) tokens.whereNotNull("revoked_at");
      else tokens.whereNull("revoked_at");
    }
    return applyListing(tokens, {
      searchColumns: ["name"],
      q: query.q,
      sort: parseSort(query.sort),
      sortColumns: { createdAt: "created_at", lastUsedAt: "last_used_at" },
      tieBreaker: "id",
    });
  },

  async findToken(db: Knex, id: string): Promise<ApiTokenRow | undefined> {
    return db<ApiTokenRow>("api_tokens").where({ id }).first();
  },

  async revokeToken(db: Knex, id: string, now: Date): Promise<ApiTokenRow> {
    const [row] = await db<ApiTokenRow>("api_tokens")
      .where({ id })
      .update({ revoked_at: db.raw("coalesce(revoked_at, ?)", [now]) as unknown as Date })
      .returning("*");
    return row as ApiTokenRow;
  },

  /** The user behind a token that is neither revoked nor expired, if that user is active. */
  async findUserOfUsableToken(
    db: Knex,
    tokenHash: string,
    now: Date,
  ): Promise<
    (UserRow & { token_id: string; group_organisation_id: string | null; group_ids: string[] }) | undefined
  > {
    return db("api_tokens as t")
      .join("users as u", "u.id", "t.user_id")
      .leftJoin("groups as g", "g.id", "u.group_id")
      .where("t.token_hash", tokenHash)
      .whereNull("t.revoked_at")
      .where((q) => q.whereNull("t.expires_at").orWhere("t.expires_at", ">", now))
      .where((q) => whereUserMaySignIn(db, q))
      .first(
        "u.*",
        "t.id as token_id",
        "g.organisation_id as group_organisation_id",
        // The scope is read with the token on every request: an assignment removed counts at once.
        assignedGroupIds(db),
      );
  },

  // Group members

  /** The users assigned to a group (not to its sub-groups), oldest assignment first. */
  async groupMembers(db: Knex, groupId: string): Promise<GroupMemberRow[]> {
    return db<GroupMemberRow>("group_members")
      .where({ group_id: groupId })
      .orderBy([{ column: "created_at" }, { column: "user_id" }]);
  },

  /** The groups a user is assigned to, oldest first (every one, whatever a caller sees). */
  async assignmentsOfUser(db: Knex, userId: string): Promise<GroupMemberRow[]> {
    return db<GroupMemberRow>("group_members")
      .where({ user_id: userId })
      .orderBy([{ column: "created_at" }, { column: "group_id" }]);
  },

  /** The groups a user is assigned to that the scope sees, oldest assignment first. */
  userGroups(db: Knex, scope: Scope, userId: string): Knex.QueryBuilder {
    return tenancyStore
      .visibleGroups(db, scope)
      .join("group_members as gm", "gm.group_id", "groups.id")
      .where("gm.user_id", userId)
      .orderBy([{ column: "gm.created_at" }, { column: "groups.id" }]);
  },

  async addGroupMembers(
    db: Knex,
    groupId: string,
    userIds: readonly string[],
    createdBy: string | null,
    now: Date,
  ): Promise<void> {
    if (userIds.length === 0) return;
    await db("group_members")
      .insert(
        userIds.map((user_id) => ({ group_id: groupId, user_id, created_at: now, created_by: createdBy })),
      )
      .onConflict(["group_id", "user_id"])
      .ignore();
  },

  async removeGroupMembers(db: Knex, groupId: string, userIds: readonly string[]): Promise<void> {
    if (userIds.length === 0) return;
    await db("group_members").where({ group_id: groupId }).whereIn("user_id", userIds).delete();
  },

  async removeAllAssignments(db: Knex, userId: string): Promise<void> {
    await db("group_members").where({ user_id: userId }).delete();
  },

  /**
   * The active users assigned to group G or to a group above it (its parent, the parent's parent,
   * up to the top): the people who oversee G's accounts, e.g. the recipients of its reminders.
   * Users of an inactive organisation are left out, as they cannot sign in either.
   */
  async activeUsersAssignedToGroupOrAncestors(db: Knex, groupId: string): Promise<UserRow[]> {
    return db<UserRow>("users")
      .select("users.*")
      .where("users.active", true)
      .whereIn(
        "users.id",
        db("group_members")
          .select("user_id")
          .whereIn(
            "group_id",
            db
              .withRecursive("ancestors", ["id", "parent_id"], (seed) =>
                seed
                  .select("id", "parent_id")
                  .from("groups")
                  .where("id", groupId)
                  .unionAll((step) =>
                    step
                      .select("g.id", "g.parent_id")
                      .from("groups as g")
                      .join("ancestors as a", "g.id", "a.parent_id"),
                  ),
              )
              .select("id")
              .from("ancestors"),
          ),
      )
      .whereNotExists((q) =>
        q
          .select(db.raw("1"))
          .from("groups as ug")
          .join("organisations as o", "o.id", "ug.organisation_id")
          .whereRaw("ug.id = users.group_id")
          .where("o.active", false),
      )
      .orderBy([{ column: "users.email" }, { column: "users.id" }]);
  },

  async touchApiToken(db: Knex, tokenId: string, now: Date): Promise<void> {
    await db("api_tokens").where({ id: tokenId }).update({ last_used_at: now });
  },
};
