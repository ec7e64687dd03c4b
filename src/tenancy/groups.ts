import type { Knex } from "knex";
import type { z } from "zod";
import type { Actor } from "../audit/actor.js";
import type { AuditService } from "../audit/service.js";
import type { Clock } from "../clock.js";
import { changedColumns, isEmptyChange } from "../db/changes.js";
import type { Database } from "../db/database.js";
import { allOf, pageOf } from "../db/listing.js";
import { ConflictError, ForbiddenError } from "../errors.js";
import type { DomainEvents } from "../events.js";
import type { Page } from "../http/list.js";
import { ids } from "../ids.js";
import { fieldError, referencedGroup, visibleGroup } from "./authority.js";
import type { Scope } from "./roles.js";
import type * as schemas from "./schemas.js";
import { type GroupRow, tenancyStore as store } from "./store.js";
import { type Group, groupView, type ListedGroup, listedGroupView } from "./views.js";

type Input<S extends z.ZodType> = z.output<S>;

/**
 * What the profiles code decides about a group's default profile, which tenancy stores but does
 * not own: whether a profile may be a group's default, and what its accounts do when the default
 * changes. Runs in the group change's transaction; `afterCommit` runs once it holds.
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

export class Groups {
  /** Without a policy (the command line), defaultProfileId answers 400. */
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    private readonly groupProfiles: GroupProfilePolicy | null,
    private readonly events: DomainEvents | null,
  ) {}

  list(actor: Actor, query: Input<typeof schemas.groupListQuery>): Promise<Page<ListedGroup>> {
    return pageOf(store.groupList(this.db.knex, actor.principal.scope, query), query, listedGroupView);
  }

  export(actor: Actor, query: Input<typeof schemas.groupExportQuery>): AsyncIterable<ListedGroup> {
    return allOf(store.groupList(this.db.knex, actor.principal.scope, query), "groups.id", listedGroupView);
  }

  async get(actor: Actor, id: string): Promise<Group> {
    return groupView(await visibleGroup(this.db.knex, actor.principal.scope, id));
  }

  async create(actor: Actor, body: Input<typeof schemas.createGroupBody>): Promise<Group> {
    const scope = actor.principal.scope;
    return this.db.knex.transaction(async (trx) => {
      let organisationId: string;
      let inheritedProfileId: string | null = null;
      if (body.parentId) {
        const parent = await referencedGroup(trx, scope, body.parentId, "body.parentId");
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
        const visible = await store.findVisibleOrganisation(trx, scope, body.organisationId);
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
        const now = this.clock.now();
        const group = { ...draft, active: true, tree_active: true, created_at: now, updated_at: now };
        await this.checkDefaultProfile(trx, scope, body.defaultProfileId, group);
      }
      await store.lockOrganisation(trx, organisationId);
      const inserted = await store.insertGroup(trx, draft, this.clock.now());
      // Under an inactive group, a new sub-group is inactive in effect from the start.
      await store.refreshTreeActive(trx, inserted.id);
      const row = (await store.findGroup(trx, inserted.id)) as GroupRow;
      const after = groupView(row);
      await this.audit.record(trx, actor, {
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

  async update(actor: Actor, id: string, body: Input<typeof schemas.updateGroupBody>): Promise<Group> {
    const scope = actor.principal.scope;
    let afterCommit: (() => Promise<void>) | undefined;
    let changed: GroupRow | undefined;
    const result = await this.db.knex.transaction(async (trx) => {
      const before = await visibleGroup(trx, scope, id, true);
      const profileChanged =
        body.defaultProfileId !== undefined && body.defaultProfileId !== before.default_profile_id;
      if (profileChanged && body.defaultProfileId) {
        await this.checkDefaultProfile(trx, scope, body.defaultProfileId, before);
      }
      if (body.parentId !== undefined && body.parentId !== before.parent_id) {
        // Moves are serialised per organisation, so two concurrent moves cannot close a cycle.
        await store.lockOrganisation(trx, before.organisation_id);
        if (body.parentId === null) {
          if (scope.kind === "group") throw new ForbiddenError("a group admin cannot make a top-level group");
        } else {
          const parent = await referencedGroup(trx, scope, body.parentId, "body.parentId");
          if (parent.organisation_id !== before.organisation_id) {
            throw fieldError("body.parentId", "the parent group belongs to another organisation");
          }
          if (await store.isInSubtree(trx, id, parent.id)) {
            throw fieldError("body.parentId", "a group cannot move under itself or one of its sub-groups");
          }
        }
      }
      const changes = changedColumns(before, {
        ...(body.parentId !== undefined ? { parent_id: body.parentId } : {}),
        ...(body.name !== undefined ? { name: body.name } : {}),
        ...(body.reference !== undefined ? { reference: body.reference } : {}),
        ...(body.itEmail !== undefined ? { it_email: body.itEmail } : {}),
        ...(body.active !== undefined ? { active: body.active } : {}),
        ...(profileChanged ? { default_profile_id: body.defaultProfileId ?? null } : {}),
      });
      if (isEmptyChange(changes)) return groupView(before);
      const row = await store.updateGroup(trx, id, changes, this.clock.now());
      const activityChanged =
        (body.active !== undefined && body.active !== before.active) ||
        (body.parentId !== undefined && body.parentId !== before.parent_id);
      if (activityChanged) {
        await store.lockOrganisation(trx, before.organisation_id);
        await store.refreshTreeActive(trx, id);
      }
      if (profileChanged && this.groupProfiles) {
        afterCommit = (await this.groupProfiles.followGroupDefault(trx, row)).afterCommit;
      }
      // Only what decides whether its accounts work concerns other capabilities.
      if (activityChanged || profileChanged) {
        changed = { ...row, active: (await store.inactiveTenantOfGroup(trx, id)) === null };
      }
      const after = groupView(row);
      await this.audit.record(trx, actor, {
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
    if (changed) {
      await this.events?.publish([
        {
          type: "group.changed",
          groupId: id,
          organisationId: changed.organisation_id,
          active: changed.active,
        },
      ]);
    }
    return result;
  }

  async delete(actor: Actor, id: string): Promise<Group> {
    const scope = actor.principal.scope;
    return this.db.knex.transaction(async (trx) => {
      const row = await visibleGroup(trx, scope, id, true);
      if (scope.kind === "group" && scope.groupIds.includes(id)) {
        throw new ForbiddenError("a group admin cannot delete a group they are assigned to");
      }
      const dependants = await store.groupDependants(trx, id);
      if (dependants.subGroups > 0 || dependants.users > 0 || dependants.accounts > 0) {
        throw new ConflictError(
          `group still has ${dependants.subGroups} sub-group(s), ${dependants.users} user(s) and ${dependants.accounts} account(s); remove them first`,
        );
      }
      await store.deleteGroup(trx, id);
      const before = groupView(row);
      await this.audit.record(trx, actor, {
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

  private async checkDefaultProfile(
    db: Knex,
    scope: Scope,
    profileId: string,
    group: GroupRow,
  ): Promise<void> {
    if (!this.groupProfiles) throw fieldError("body.defaultProfileId", "profiles are not available");
    await this.groupProfiles.assertProfileForGroup(db, scope, profileId, group, "body.defaultProfileId");
  }
}
