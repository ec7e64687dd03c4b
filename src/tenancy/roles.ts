export const roles = ["operator", "company_admin", "group_admin", "group_supervisor"] as const;
export type Role = (typeof roles)[number];

/**
 * What a caller may see: everything, one organisation, or the groups a user is assigned to and
 * their sub-groups. Resolved once per request from the user's role and assignments (read with the
 * token, so removing an assignment counts from the next request on). `groupIds` may be empty: such
 * a user sees no group at all.
 */
export type Scope =
  | { kind: "all" }
  | { kind: "organisation"; organisationId: string }
  | { kind: "group"; organisationId: string; groupIds: readonly string[] };

/** Who is calling: resolved from an API token or a console session by the tenancy service. */
export interface Principal {
  userId: string;
  /** The API token of the request; null when it is made with a console session. */
  tokenId: string | null;
  /** The console session of the request; null when it is made with an API token. */
  sessionId?: string | null;
  email: string;
  name: string;
  role: Role;
  organisationId: string | null;
  /** The user's first group (the API's `groupId`); `groupIds` holds every assignment. */
  groupId: string | null;
  groupIds: string[];
  scope: Scope;
}

/** Roles that may change things; the supervisor only reads. */
export const writerRoles: readonly Role[] = ["operator", "company_admin", "group_admin"];

/** The roles a role may grant to users it creates or edits: never above its own. */
export const grantableRoles: Record<Role, readonly Role[]> = {
  operator: roles,
  company_admin: ["company_admin", "group_admin", "group_supervisor"],
  group_admin: ["group_admin", "group_supervisor"],
  group_supervisor: [],
};

export function scopeOf(
  role: Role,
  organisationId: string | null,
  groupIds: readonly string[],
  groupOrganisationId: string | null,
): Scope {
  if (role === "operator") return { kind: "all" };
  if (role === "company_admin" && organisationId) return { kind: "organisation", organisationId };
  if (groupOrganisationId) return { kind: "group", organisationId: groupOrganisationId, groupIds };
  throw new Error(`user with role ${role} has no scope`);
}

/** Whether a user of this role is assigned to groups (and so has a group scope). */
export const isGroupRole = (role: Role): boolean => role === "group_admin" || role === "group_supervisor";
