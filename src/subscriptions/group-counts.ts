import type { Knex } from "knex";

/**
 * What the portal's group page shows, computed by the database for the groups a list returns:
 * the active devices of a group and its sub-groups, and those of them due for renewal within 4
 * weeks (the `due_soon` flag the schedule keeps). Read from accounts_group_subscription alone.
 */
const subtreeOfListedGroup = `with recursive subtree(id) as (
    select groups.id
    union all
    select g.id from groups g join subtree s on g.parent_id = s.id
  ) select id from subtree`;

export interface DeviceCounts {
  activeDevices: number;
  dueForRenewal: number;
}

/** Adds `device_counts` to a query of `groups` rows; a select-list subquery, so only listed rows pay for it. */
export function selectDeviceCounts(db: Knex, query: Knex.QueryBuilder): Knex.QueryBuilder {
  return query.select(
    db.raw(`(select json_build_object(
        'activeDevices', count(*) filter (where a.status = 'active'),
        'dueForRenewal', count(*) filter (where a.status = 'active' and a.due_soon))
      from accounts a
      where a.deleted_at is null and a.group_id in (${subtreeOfListedGroup})) as device_counts`),
  );
}

/** Keeps the groups with (true) or without (false) at least one active device in their subtree. */
export function whereHasActiveDevices(query: Knex.QueryBuilder, wanted: boolean): Knex.QueryBuilder {
  const exists = `exists (select 1 from accounts a
      where a.deleted_at is null and a.status = 'active' and a.group_id in (${subtreeOfListedGroup}))`;
  return query.whereRaw(wanted ? exists : `not ${exists}`);
}

export function deviceCountsOf(value: unknown): DeviceCounts {
  const parsed = (typeof value === "string" ? JSON.parse(value) : value) as Partial<DeviceCounts> | null;
  return {
    activeDevices: Number(parsed?.activeDevices ?? 0),
    dueForRenewal: Number(parsed?.dueForRenewal ?? 0),
  };
}
