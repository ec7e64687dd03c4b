import type { Knex } from "knex";

/**
 * What the portal's group page shows, computed by the database in the list's own query: the
 * active devices of a group and its sub-groups, and those of them due for renewal within 4 weeks
 * (the `due_soon` flag the schedule keeps). One pass over the active accounts
 * (accounts_active_by_group, an index-only scan) is summed up the group tree; a correlated count
 * per listed group would walk the accounts once per group.
 */
const deviceCountsByGroup = `(
  with recursive closure (ancestor, descendant) as (
    select id, id from groups
    union all
    select closure.ancestor, g.id from closure join groups g on g.parent_id = closure.descendant
  ),
  per_group as (
    select group_id, count(*) as active_devices, count(*) filter (where due_soon) as due_for_renewal
      from accounts
     where deleted_at is null and status = 'active'
     group by group_id
  )
  select closure.ancestor as group_id,
         sum(per_group.active_devices)::integer as active_devices,
         sum(per_group.due_for_renewal)::integer as due_for_renewal
    from closure join per_group on per_group.group_id = closure.descendant
   group by closure.ancestor
) as device_counts`;

export interface DeviceCounts {
  activeDevices: number;
  dueForRenewal: number;
}

/** Adds `active_devices` and `due_for_renewal` to a query of `groups` rows. */
export function selectDeviceCounts(db: Knex, query: Knex.QueryBuilder): Knex.QueryBuilder {
  return query
    .leftJoin(db.raw(deviceCountsByGroup), "device_counts.group_id", "groups.id")
    .select(
      db.raw("coalesce(device_counts.active_devices, 0) as active_devices"),
      db.raw("coalesce(device_counts.due_for_renewal, 0) as due_for_renewal"),
    );
}

/** Keeps the groups with (true) or without (false) at least one active device in their subtree. */
export function whereHasActiveDevices(query: Knex.QueryBuilder, wanted: boolean): Knex.QueryBuilder {
  return wanted
    ? query.where("device_counts.active_devices", ">", 0)
    : query.whereNull("device_counts.group_id");
}

export function deviceCountsOf(row: { active_devices?: unknown; due_for_renewal?: unknown }): DeviceCounts {
  return { activeDevices: Number(row.active_devices ?? 0), dueForRenewal: Number(row.due_for_renewal ?? 0) };
}
