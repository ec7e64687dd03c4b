import type { z } from "zod";
import { deviceCountsOf } from "../subscriptions/group-counts.js";
import type {
  apiTokenSchema,
  groupSchema,
  listedGroupSchema,
  organisationSchema,
  userSchema,
} from "./schemas.js";
import type { ApiTokenRow, GroupRow, OrganisationRow, UserRow } from "./store.js";

/** Rows as the API shows them: camelCase, ISO times, nothing secret. */
export const iso = (date: Date | string): string => new Date(date).toISOString();
export const isoOrNull = (date: Date | string | null): string | null => (date === null ? null : iso(date));

export type Organisation = z.input<typeof organisationSchema>;
export type Group = z.input<typeof groupSchema>;
export type ListedGroup = z.input<typeof listedGroupSchema>;
export type User = z.input<typeof userSchema>;
export type ApiToken = z.input<typeof apiTokenSchema>;

export const organisationView = (row: OrganisationRow): Organisation => ({
  id: row.id,
  name: row.name,
  active: row.active,
  sipDomains: row.sip_domains,
  createdAt: iso(row.created_at),
  updatedAt: iso(row.updated_at),
});

export const groupView = (row: GroupRow): Group => ({
  id: row.id,
  organisationId: row.organisation_id,
  parentId: row.parent_id,
  name: row.name,
  reference: row.reference,
  itEmail: row.it_email,
  active: row.active,
  defaultProfileId: row.default_profile_id,
  createdAt: iso(row.created_at),
  updatedAt: iso(row.updated_at),
});

export const listedGroupView = (
  row: GroupRow & { active_devices?: unknown; due_for_renewal?: unknown },
): ListedGroup => {
  const counts = deviceCountsOf(row);
  return { ...groupView(row), ...counts, hasActiveDevices: counts.activeDevices > 0 };
};

export const userView = (row: UserRow): User => ({
  id: row.id,
  email: row.email,
  name: row.name,
  role: row.role,
  organisationId: row.organisation_id,
  groupId: row.group_id,
  groupIds: row.group_ids ?? [],
  active: row.active,
  createdAt: iso(row.created_at),
  updatedAt: iso(row.updated_at),
});

export const apiTokenView = (row: ApiTokenRow): ApiToken => ({
  id: row.id,
  userId: row.user_id,
  name: row.name,
  createdAt: iso(row.created_at),
  expiresAt: isoOrNull(row.expires_at),
  lastUsedAt: isoOrNull(row.last_used_at),
  revokedAt: isoOrNull(row.revoked_at),
});
