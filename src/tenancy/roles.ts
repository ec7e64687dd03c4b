export const roles = ["operator", "company_admin", "group_admin", "group_supervisor"] as const;
export type Role = (typeof roles)[number];

/** Who is calling: resolved from an API token by the tenancy service. */
export interface Principal {
  userId: string;
  tokenId: string;
  email: string;
  name: string;
  role: Role;
  organisationId: string | null;
  groupId: string | null;
}
