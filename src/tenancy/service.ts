import type { Knex } from "knex";
import type { z } from "zod";
import type { Clock } from "../clock.js";
import type { Database } from "../db/database.js";
import { applyListing, fetchAll, fetchPage } from "../db/listing.js";
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  UnauthorizedError,
  ValidationError,
} from "../errors.js";
import { type Page, parseSort } from "../http/list.js";
import { ids } from "../ids.js";
import { generateApiToken, hashApiToken, looksLikeApiToken } from "./api-token.js";
import { grantableRoles, type Principal, type Role, type Scope, scopeOf, writerRoles } from "./roles.js";
import type * as schemas from "./schemas.js";
import {
  type AuditEventInput,
  type GroupRow,
  groupSubtree,
  tenancyStore as store,
  type UserRow,
} from "./store.js";
import {
  type ApiToken,
  type AuditEvent,
  apiTokenView,
  auditEventView,
  type Group,
  groupView,
  type Organisation,
  organisationView,
  type User,
  userView,
} from "./views.js";

export interface IssuedToken {
  token: string;
  tokenId: string;
  userId: string;
  email: string;
  expiresAt: Date | null;
}

/** Who acts, for the audit trail. */
export interface Actor {
  principal: Principal;
  requestId: string | null;
}

type Input<S extends z.ZodType> = z.output<S>;

/** What changed, as a capability reports it; who and when are added by `audit`. */
export type AuditedChange = Omit<
  AuditEventInput,
  "actorUserId" | "actorTokenId" | "actorLabel" | "occurredAt" | "requestId"
>;
type ListInput = { q?: string | undefined; sort: string };

/** Serialises the first-start bootstrap across processes sharing one PostgreSQL. */
const bootstrapLockKey = 0x70726f76; // "prov"

export const initialOperatorEmail = "operator@localhost";

const fieldError = (path: string, message: string) => new ValidationError([{ path, message }]);

function isUniqueViolation(error: unknown, constraint: string): boolean {
  const e = error as { code?: string; constraint?: string; message?: string };
  return e?.code === "23505" && (e.constraint === constraint || (e.message ?? "").includes(constraint));
}

/**
 * What the accounts capability decides about a group's default profile, which tenancy stores
 * but does not own: whether a profile may be a group's default, and what its accounts do when
 * the default changes. Runs in the group change's transaction; `afterCommit` runs once it holds.
 */
export interface GroupProfilePolicy {
  assertProfileForGroup(
    db: Knex,
    scope: Scope,
    profileId: string,
    group: GroupRow,
    path: string,
  ): Promise<void>;
  followGroupDefault(db: Knex, group: GroupRow): Promise<{ afterCommit(): Promise<void> }>;
}

export class TenancyService {
  private groupProfiles: GroupProfilePolicy | null = null;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  /** Lets groups take a default profile; without a policy, defaultProfileId answers 400. */
  useGroupProfilePolicy(policy: GroupProfilePolicy): void {
    this.groupProfiles = policy;
  }

  private async checkDefaultProfile(
    db: Knex,
    scope: Scope,
    profileId: string,
    group: GroupRow,
  ): Promise<void> {
    if (!this.groupProfiles) throw fieldError("body.defaultProfileId", "profiles are not available");
    await this.groupProfiles.assertProfileForGroup(db, scope, profileId, group, "body.defaultProfileId");
  }

  private get knex(): Knex {
    return this.db.knex;
  }

  // Authentication and first start

  /**
   * On a database without users, creates the initial operator and a token for it.
   * Returns the token once, or null when users already exist.
   */
  async bootstrapInitialOperator(): Promise<IssuedToken | null> {
    return this.knex.transaction(async (trx) => {
      await trx.raw("select pg_advisory_xact_lock(?)", [bootstrapLockKey]);
      if ((await store.countUsers(trx)) > 0) return null;
      const user = await this.insertOperator(
        trx,
        initialOperatorEmail,
        "Initial operator",
        "system:first-start",
      );
      return this.issueToken(trx, user, "initial operator token", null, systemAudit("system:first-start"));
    });
  }

  /**
   * Issues a token from the command line for a user of the given role: the named user, or
   * the first active operator (creating one if there is none).
   */
  async issueTokenFromCli(options: {
    role: Role;
    email?: string;
    name?: string;
    expiresAt?: Date | null;
  }): Promise<IssuedToken> {
    return this.knex.transaction(async (trx) => {
      let user = options.email
        ? await store.findUserByEmail(trx, options.email)
        : options.role === "operator"
          ? await store.findFirstActiveOperator(trx)
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
        user = await this.insertOperator(trx, options.email ?? initialOperatorEmail, "Operator", "cli");
      }
      return this.issueToken(trx, user, options.name ?? "cli", options.expiresAt ?? null, systemAudit("cli"));
    });
  }

  /** Resolves a bearer token to its principal, or throws 401 without saying which check failed. */
  async authenticate(bearer: string | undefined): Promise<Principal> {
    if (!bearer) throw new UnauthorizedError("an API token is required: send Authorization: Bearer <token>");
    if (!looksLikeApiToken(bearer)) throw new UnauthorizedError("the API token is not valid");
    const now = this.clock.now();
    const row = await store.findUserOfUsableToken(this.knex, hashApiToken(bearer), now);
    if (!row) throw new UnauthorizedError("the API token is not valid");
    await store.touchApiToken(this.knex, row.token_id, now);
    return {
      userId: row.id,
      tokenId: row.token_id,
      email: row.email,
      name: row.name,
      role: row.role,
      organisationId: row.organisation_id,
      groupId: row.group_id,
      scope: scopeOf(row.role, row.organisation_id, row.group_id, row.group_organisation_id),
    };
  }

  // Organisations

  listOrganisations(
    actor: Actor,
    query: Input<typeof schemas.organisationListQuery>,
  ): Promise<Page<Organisation>> {
    return this.page(this.organisationQuery(actor.principal.scope, query), query, organisationView);
  }

  exportOrganisations(
    actor: Actor,
    query: Input<typeof schemas.organisationExportQuery>,
  ): AsyncIterable<Organisation> {
    return this.all(
      this.organisationQuery(actor.principal.scope, query),
      "organisations.id",
      organisationView,
    );
  }

  async getOrganisation(actor: Actor, id: string): Promise<Organisation> {
    return organisationView(await this.visibleOrganisation(this.knex, actor.principal.scope, id));
  }

  async createOrganisation(
    actor: Actor,
    body: Input<typeof schemas.createOrganisationBody>,
  ): Promise<Organisation> {
    return this.knex.transaction(async (trx) => {
      const row = await uniqueName(() =>
        store.insertOrganisation(trx, { id: ids.uuid(), name: body.name }, this.now()),
      );
      const after = organisationView(row);
      await this.audit(trx, actor, {
        action: "organisation.created",
        targetType: "organisation",
        targetId: row.id,
        organisationId: row.id,
        after,
      });
      return after;
    });
  }

  async updateOrganisation(
    actor: Actor,
    id: string,
    body: Input<typeof schemas.updateOrganisationBody>,
  ): Promise<Organisation> {
    return this.knex.transaction(async (trx) => {
      const before = await this.visibleOrganisation(trx, actor.principal.scope, id, true);
      const row = await uniqueName(() => store.updateOrganisation(trx, id, body, this.now()));
      const after = organisationView(row);
      await this.audit(trx, actor, {
        action: "organisation.updated",
        targetType: "organisation",
        targetId: id,
        organisationId: id,
        before: organisationView(before),
        after,
      });
      return after;
    });
  }

  async deleteOrganisation(actor: Actor, id: string): Promise<Organisation> {
    return this.knex.transaction(async (trx) => {
      const before = organisationView(await this.visibleOrganisation(trx, actor.principal.scope, id, true));
      const dependants = await store.organisationDependants(trx, id);
      if (dependants.groups > 0 || dependants.users > 0 || dependants.profiles > 0) {
        throw new ConflictError(
          `organisation still has ${dependants.groups} group(s), ${dependants.users} company user(s) and ${dependants.profiles} profile(s); remove them first`,
        );
      }
      await store.deleteOrganisation(trx, id);
      await this.audit(trx, actor, {
        action: "organisation.deleted",
        targetType: "organisation",
        targetId: id,
        organisationId: id,
        before,
      });
      return before;
    });
  }

  // Groups

  listGroups(actor: Actor, query: Input<typeof schemas.groupListQuery>): Promise<Page<Group>> {
    return this.page(this.groupQuery(actor.principal.scope, query), query, groupView);
  }

  exportGroups(actor: Actor, query: Input<typeof schemas.groupExportQuery>): AsyncIterable<Group> {
    return this.all(this.groupQuery(actor.principal.scope, query), "groups.id", groupView);
  }

  async getGroup(actor: Actor, id: string): Promise<Group> {
    return groupView(await this.visibleGroup(this.knex, actor.principal.scope, id));
  }

  async createGroup(actor: Actor, body: Input<typeof schemas.createGroupBody>): Promise<Group> {
    const scope = actor.principal.scope;
    return this.knex.transaction(async (trx) => {
      let organisationId: string;
      let inheritedProfileId: string | null = null;
      if (body.parentId) {
        const parent = await this.referencedGroup(trx, scope, body.parentId, "body.parentId");
        // A new sub-group starts with its parent's default profile, as operators expect.
        inheritedProfileId = parent.default_profile_id;
        if (body.organisationId && body.organisationId !== parent.organisation_id) {
          throw fieldError("body.parentId", "the parent group belongs to another organisation");
        }
        organisationId = parent.organisation_id;
      } else {
        if (scope.kind === "group")
          throw new ForbiddenError("a group admin can create sub-groups only: give parentId");
        if (!body.organisationId) throw fieldError("body.organisationId", "required for a top-level group");
        const visible = await store
          .visibleOrganisations(trx, scope)
          .where("organisations.id", body.organisationId)
          .first();
        if (!visible) throw fieldError("body.organisationId", "no such organisation");
        organisationId = body.organisationId;
      }
      const draft = {
        id: ids.uuid(),
        organisation_id: organisationId,
        parent_id: body.parentId ?? null,
        name: body.name,
        reference: body.reference ?? null,
        it_email: body.itEmail ?? null,
        default_profile_id: body.defaultProfileId !== undefined ? body.defaultProfileId : inheritedProfileId,
      };
      if (body.defaultProfileId) {
        const group = { ...draft, active: true, created_at: this.now(), updated_at: this.now() };
        await this.checkDefaultProfile(trx, scope, body.defaultProfileId, group);
      }
      const row = await store.insertGroup(trx, draft, this.now());
      const after = groupView(row);
      await this.audit(trx, actor, {
        action: "group.created",
        targetType: "group",
        targetId: row.id,
        organisationId,
        groupId: row.id,
        after,
      });
      return after;
    });
  }

  async updateGroup(actor: Actor, id: string, body: Input<typeof schemas.updateGroupBody>): Promise<Group> {
    const scope = actor.principal.scope;
    let afterCommit: (() => Promise<void>) | undefined;
    const result = await this.knex.transaction(async (trx) => {
      const before = await this.visibleGroup(trx, scope, id, true);
      const profileChanged =
        body.defaultProfileId !== undefined && body.defaultProfileId !== before.default_profile_id;
      if (profileChanged && body.defaultProfileId) {
        await this.checkDefaultProfile(trx, scope, body.defaultProfileId, before);
      }
      if (body.parentId !== undefined && body.parentId !== before.parent_id) {
        // Moves are serialised per organisation, so two concurrent moves cannot close a cycle.
        await trx("organisations").where({ id: before.organisation_id }).forUpdate().first();
        if (body.parentId === null) {
          if (scope.kind === "group") throw new ForbiddenError("a group admin cannot make a top-level group");
        } else {
          const parent = await this.referencedGroup(trx, scope, body.parentId, "body.parentId");
          if (parent.organisation_id !== before.organisation_id) {
            throw fieldError("body.parentId", "the parent group belongs to another organisation");
          }
          if (await store.isInSubtree(trx, id, parent.id)) {
            throw fieldError("body.parentId", "a group cannot move under itself or one of its sub-groups");
          }
        }
      }
      const row = await store.updateGroup(
        trx,
        id,
        {
          ...(body.parentId !== undefined ? { parent_id: body.parentId } : {}),
          ...(body.name !== undefined ? { name: body.name } : {}),
          ...(body.reference !== undefined ? { reference: body.reference } : {}),
          ...(body.itEmail !== undefined ? { it_email: body.itEmail } : {}),
          ...(body.active !== undefined ? { active: body.active } : {}),
          ...(profileChanged ? { default_profile_id: body.defaultProfileId ?? null } : {}),
        },
        this.now(),
      );
      if (profileChanged && this.groupProfiles) {
        afterCommit = (await this.groupProfiles.followGroupDefault(trx, row)).afterCommit;
      }
      const after = groupView(row);
      await this.audit(trx, actor, {
        action: "group.updated",
        targetType: "group",
        targetId: id,
        organisationId: row.organisation_id,
        groupId: id,
        before: groupView(before),
        after,
      });
      return after;
    });
    await afterCommit?.();
    return result;
  }

  async deleteGroup(actor: Actor, id: string): Promise<Group> {
    const scope = actor.principal.scope;
    return this.knex.transaction(async (trx) => {
      const row = await this.visibleGroup(trx, scope, id, true);
      if (scope.kind === "group" && scope.groupId === id) {
        throw new ForbiddenError("a group admin cannot delete the group they administer");
      }
      const dependants = await store.groupDependants(trx, id);
      if (dependants.subGroups > 0 || dependants.users > 0 || dependants.accounts > 0) {
        throw new ConflictError(
          `group still has ${dependants.subGroups} sub-group(s), ${dependants.users} user(s) and ${dependants.accounts} account(s); remove them first`,
        );
      }
      await store.deleteGroup(trx, id);
      const before = groupView(row);
      await this.audit(trx, actor, {
        action: "group.deleted",
        targetType: "group",
        targetId: id,
        organisationId: row.organisation_id,
        groupId: row.parent_id ?? id,
        before,
      });
      return before;
    });
  }

  // Users

  listUsers(actor: Actor, query: Input<typeof schemas.userListQuery>): Promise<Page<User>> {
    return this.page(this.userQuery(actor.principal.scope, query), query, userView);
  }

  exportUsers(actor: Actor, query: Input<typeof schemas.userExportQuery>): AsyncIterable<User> {
    return this.all(this.userQuery(actor.principal.scope, query), "users.id", userView);
  }

  async getUser(actor: Actor, id: string): Promise<User> {
    return userView(await this.visibleUser(this.knex, actor.principal.scope, id));
  }

  async createUser(actor: Actor, body: Input<typeof schemas.createUserBody>): Promise<User> {
    return this.knex.transaction(async (trx) => {
      const state = {
        role: body.role,
        organisation_id: body.organisationId ?? null,
        group_id: body.groupId ?? null,
      };
      const organisationId = await this.assertMayHold(trx, actor.principal, state);
      const row = await uniqueEmail(() =>
        store.insertUser(trx, { id: ids.uuid(), email: body.email, name: body.name, ...state }, this.now()),
      );
      const after = userView(row);
      await this.audit(trx, actor, {
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

  async updateUser(actor: Actor, id: string, body: Input<typeof schemas.updateUserBody>): Promise<User> {
    return this.knex.transaction(async (trx) => {
      const before = await this.visibleUser(trx, actor.principal.scope, id, true);
      await this.assertMayHold(trx, actor.principal, before);
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
      const organisationId = await this.assertMayHold(trx, actor.principal, state);
      const active = body.active ?? before.active;
      if (before.role === "operator" && before.active && (role !== "operator" || !active)) {
        await this.assertAnotherOperator(trx, id);
      }
      const row = await uniqueEmail(() =>
        store.updateUser(
          trx,
          id,
          {
            ...state,
            ...(body.email !== undefined ? { email: body.email } : {}),
            ...(body.name !== undefined ? { name: body.name } : {}),
            active,
          },
          this.now(),
        ),
      );
      const after = userView(row);
      await this.audit(trx, actor, {
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

  async deleteUser(actor: Actor, id: string): Promise<User> {
    return this.knex.transaction(async (trx) => {
      const row = await this.visibleUser(trx, actor.principal.scope, id, true);
      const organisationId = await this.assertMayHold(trx, actor.principal, row);
      if (row.role === "operator" && row.active) await this.assertAnotherOperator(trx, id);
      await store.deleteUser(trx, id);
      const before = userView(row);
      await this.audit(trx, actor, {
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

  // API tokens

  async createToken(
    actor: Actor,
    userId: string,
    body: Input<typeof schemas.createApiTokenBody>,
  ): Promise<ApiToken & { token: string }> {
    return this.knex.transaction(async (trx) => {
      const user = await this.visibleUser(trx, actor.principal.scope, userId, true);
      await this.assertMayManageTokensOf(trx, actor.principal, user);
      if (!user.active)
        throw new ConflictError("the user is inactive: activate them before creating a token");
      const expiresAt = body.expiresAt ? new Date(body.expiresAt) : null;
      if (expiresAt && expiresAt <= this.now()) throw fieldError("body.expiresAt", "must be in the future");
      const issued = await this.issueToken(trx, user, body.name ?? null, expiresAt, actor);
      const row = await store.findToken(trx, issued.tokenId);
      return { ...apiTokenView(row as NonNullable<typeof row>), token: issued.token };
    });
  }

  async listTokens(
    actor: Actor,
    userId: string,
    query: Input<typeof schemas.apiTokenListQuery>,
  ): Promise<Page<ApiToken>> {
    await this.visibleUser(this.knex, actor.principal.scope, userId);
    const tokens = store.tokensOfUser(this.knex, userId);
    if (query.revoked !== undefined) {
      if (query.revoked) tokens.whereNotNull("revoked_at");
      else tokens.whereNull("revoked_at");
    }
    applyListing(tokens, {
      searchColumns: ["name"],
      q: query.q,
      sort: parseSort(query.sort),
      sortColumns: { createdAt: "created_at", lastUsedAt: "last_used_at" },
      tieBreaker: "id",
    });
    const { rows, total } = await fetchPage<Parameters<typeof apiTokenView>[0]>(
      tokens,
      query.page,
      query.pageSize,
    );
    return { items: rows.map(apiTokenView), page: query.page, pageSize: query.pageSize, total };
  }

  async revokeToken(actor: Actor, tokenId: string): Promise<ApiToken> {
    return this.knex.transaction(async (trx) => {
      const token = await store.findToken(trx, tokenId);
      if (!token) throw new NotFoundError("no such token");
      const user = await store
        .visibleUsers(trx, actor.principal.scope)
        .where("users.id", token.user_id)
        .first();
      if (!user) throw new NotFoundError("no such token");
      await this.assertMayManageTokensOf(trx, actor.principal, user);
      const row = await store.revokeToken(trx, tokenId, this.now());
      const after = apiTokenView(row);
      await this.audit(trx, actor, {
        action: "token.revoked",
        targetType: "token",
        targetId: tokenId,
        organisationId: await this.organisationOfUser(trx, user),
        groupId: user.group_id,
        before: apiTokenView(token),
        after,
      });
      return after;
    });
  }

  // Audit events

  listAuditEvents(actor: Actor, query: Input<typeof schemas.auditEventListQuery>): Promise<Page<AuditEvent>> {
    return this.page(this.auditQuery(actor.principal.scope, query), query, auditEventView);
  }

  exportAuditEvents(
    actor: Actor,
    query: Input<typeof schemas.auditEventExportQuery>,
  ): AsyncIterable<AuditEvent> {
    return this.all(this.auditQuery(actor.principal.scope, query), "audit_events.id", auditEventView);
  }

  // Queries of the lists

  private organisationQuery(
    scope: Scope,
    query: Input<typeof schemas.organisationExportQuery>,
  ): Knex.QueryBuilder {
    const q = store.visibleOrganisations(this.knex, scope);
    if (query.active !== undefined) q.where("organisations.active", query.active);
    return applyListing(q, {
      q: query.q,
      searchColumns: ["organisations.name"],
      sort: parseSort(query.sort),
      sortColumns: { name: "organisations.name", createdAt: "organisations.created_at" },
      tieBreaker: "organisations.id",
    });
  }

  private groupQuery(scope: Scope, query: Input<typeof schemas.groupExportQuery>): Knex.QueryBuilder {
    const q = store.visibleGroups(this.knex, scope);
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
  }

  private userQuery(scope: Scope, query: Input<typeof schemas.userExportQuery>): Knex.QueryBuilder {
    const q = store.visibleUsers(this.knex, scope);
    if (query.role) q.where("users.role", query.role);
    if (query.organisationId) q.where("users.organisation_id", query.organisationId);
    if (query.groupId) q.where("users.group_id", query.groupId);
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
  }

  private auditQuery(scope: Scope, query: Input<typeof schemas.auditEventExportQuery>): Knex.QueryBuilder {
    const q = store.visibleAuditEvents(this.knex, scope);
    if (query.action) q.where("audit_events.action", query.action);
    if (query.targetType) q.where("audit_events.target_type", query.targetType);
    if (query.targetId) q.where("audit_events.target_id", query.targetId);
    if (query.actorUserId) q.where("audit_events.actor_user_id", query.actorUserId);
    if (query.organisationId) q.where("audit_events.organisation_id", query.organisationId);
    if (query.from) q.where("audit_events.occurred_at", ">=", new Date(query.from));
    if (query.to) q.where("audit_events.occurred_at", "<", new Date(query.to));
    return applyListing(q, {
      q: query.q,
      searchColumns: ["audit_events.action", "audit_events.actor_label"],
      sort: parseSort(query.sort),
      sortColumns: { occurredAt: "audit_events.occurred_at", action: "audit_events.action" },
      tieBreaker: "audit_events.id",
    });
  }

  private async page<R, T>(
    query: Knex.QueryBuilder,
    paging: ListInput & { page: number; pageSize: number },
    view: (row: R) => T,
  ): Promise<Page<T>> {
    const { rows, total } = await fetchPage<R>(query, paging.page, paging.pageSize);
    return { items: rows.map(view), page: paging.page, pageSize: paging.pageSize, total };
  }

  private async *all<R extends { id: string }, T>(
    query: Knex.QueryBuilder,
    idColumn: string,
    view: (row: R) => T,
  ): AsyncGenerator<T> {
    for await (const row of fetchAll<R>(query, idColumn)) yield view(row);
  }

  // Visibility and authority

  private async visibleOrganisation(db: Knex, scope: Scope, id: string, forUpdate = false) {
    const q = store.visibleOrganisations(db, scope).where("organisations.id", id);
    const row = await (forUpdate ? q.forUpdate() : q).first();
    if (!row) throw new NotFoundError("no such organisation");
    return row;
  }

  private async visibleGroup(db: Knex, scope: Scope, id: string, forUpdate = false): Promise<GroupRow> {
    const q = store.visibleGroups(db, scope).where("groups.id", id);
    const row = (await (forUpdate ? q.forUpdate() : q).first()) as GroupRow | undefined;
    if (!row) throw new NotFoundError("no such group");
    return row;
  }

  private async visibleUser(db: Knex, scope: Scope, id: string, forUpdate = false): Promise<UserRow> {
    const q = store.visibleUsers(db, scope).where("users.id", id);
    const row = (await (forUpdate ? q.forUpdate() : q).first()) as UserRow | undefined;
    if (!row) throw new NotFoundError("no such user");
    return row;
  }

  /**
   * A group the actor may change things in (for another capability's write, such as an
   * account in it), read in the caller's transaction. Invisible and missing look the same.
   */
  async groupForWrite(db: Knex, actor: Principal, id: string, path: string): Promise<GroupRow> {
    if (!writerRoles.includes(actor.role)) throw new ForbiddenError(`a ${actor.role} can only read`);
    return this.referencedGroup(db, actor.scope, id, path);
  }

  /** The ids of the group and all its sub-groups, for filters of other capabilities' lists. */
  groupAndSubgroups(db: Knex, groupId: string): Knex.QueryBuilder {
    return groupSubtree(db, groupId);
  }

  /** A group named in a request body: invisible and missing look the same. */
  private async referencedGroup(db: Knex, scope: Scope, id: string, path: string): Promise<GroupRow> {
    const row = (await store.visibleGroups(db, scope).where("groups.id", id).first()) as GroupRow | undefined;
    if (!row) throw fieldError(path, "no such group");
    return row;
  }

  /**
   * Checks that the actor may give a user this role and scope (never a role above its own,
   * never outside its own scope); returns the user's organisation.
   */
  private async assertMayHold(
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
      if (state.group_id)
        throw fieldError("body.groupId", "a company_admin has an organisation, not a group");
      if (!state.organisation_id) throw fieldError("body.organisationId", "required for a company_admin");
      const org = await store
        .visibleOrganisations(db, actor.scope)
        .where("organisations.id", state.organisation_id)
        .first();
      if (!org) throw fieldError("body.organisationId", "no such organisation");
      return state.organisation_id;
    }
    if (state.organisation_id)
      throw fieldError("body.organisationId", `a ${state.role} has a group, not an organisation`);
    if (!state.group_id) throw fieldError("body.groupId", `required for a ${state.role}`);
    const group = await this.referencedGroup(db, actor.scope, state.group_id, "body.groupId");
    return group.organisation_id;
  }

  private async assertMayManageTokensOf(db: Knex, actor: Principal, user: UserRow): Promise<void> {
    if (user.id === actor.userId) return;
    if (!writerRoles.includes(actor.role))
      throw new ForbiddenError(`a ${actor.role} can manage only their own tokens`);
    await this.assertMayHold(db, actor, user);
  }

  private async assertAnotherOperator(db: Knex, userId: string): Promise<void> {
    if ((await store.countActiveOperators(db, userId)) === 0) {
      throw new ConflictError("this is the last active operator: create another one first");
    }
  }

  private async organisationOfUser(db: Knex, user: UserRow): Promise<string | null> {
    if (user.organisation_id || !user.group_id) return user.organisation_id;
    const group = await db<GroupRow>("groups").where({ id: user.group_id }).first();
    return group?.organisation_id ?? null;
  }

  // Writing

  private now(): Date {
    return this.clock.now();
  }

  /** Writes an audit event in the caller's transaction; other capabilities audit through this. */
  async audit(trx: Knex, actor: Actor | SystemAudit, ...events: AuditedChange[]): Promise<void> {
    const who =
      "principal" in actor
        ? {
            actorUserId: actor.principal.userId,
            actorTokenId: actor.principal.tokenId,
            actorLabel: actor.principal.email,
            requestId: actor.requestId,
          }
        : { actorUserId: null, actorTokenId: null, actorLabel: actor.label, requestId: null };
    const occurredAt = this.now();
    await store.insertAuditEvents(
      trx,
      events.map((event) => ({ ...event, ...who, occurredAt })),
    );
  }

  private async insertOperator(trx: Knex, email: string, name: string, label: string): Promise<UserRow> {
    const user = await store.insertUser(
      trx,
      { id: ids.uuid(), email, name, role: "operator", organisation_id: null, group_id: null },
      this.now(),
    );
    await this.audit(trx, systemAudit(label), {
      action: "user.created",
      targetType: "user",
      targetId: user.id,
      after: userView(user),
    });
    return user;
  }

  private async issueToken(
    trx: Knex,
    user: UserRow,
    name: string | null,
    expiresAt: Date | null,
    actor: Actor | SystemAudit,
  ): Promise<IssuedToken> {
    const token = generateApiToken();
    const row = await store.insertApiToken(
      trx,
      { id: ids.uuid(), user_id: user.id, name, token_hash: hashApiToken(token), expires_at: expiresAt },
      this.now(),
    );
    await this.audit(trx, actor, {
      action: "token.created",
      targetType: "token",
      targetId: row.id,
      organisationId: await this.organisationOfUser(trx, user),
      groupId: user.group_id,
      after: apiTokenView(row),
    });
    return { token, tokenId: row.id, userId: user.id, email: user.email, expiresAt };
  }
}

interface SystemAudit {
  label: string;
}
const systemAudit = (label: string): SystemAudit => ({ label });

async function uniqueName<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (isUniqueViolation(error, "organisations_name_unique")) {
      throw new ConflictError("an organisation with this name already exists");
    }
    throw error;
  }
}

async function uniqueEmail<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (isUniqueViolation(error, "users_email_unique"))
      throw new ConflictError("a user with this e-mail already exists");
    throw error;
  }
}
