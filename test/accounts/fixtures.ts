import type { ApiClient } from "../support/api.js";

let seq = 0;
/** A name no other test of this process uses. */
export const unique = (prefix: string) => `${prefix}-${process.pid}-${++seq}`;

export interface Problem {
  status: number;
  detail: string;
  errors?: Array<{ path: string; message: string }>;
}

export interface Page<T> {
  items: T[];
  page: number;
  pageSize: number;
  total: number;
}

export interface AccountBody {
  id: string;
  groupId: string;
  type: "PGSM" | "SNOM";
  mode: string;
  status: string;
  disabledReason: string | null;
  username: string;
  sipDomain: string;
  displayName: string | null;
  phoneNumber: string | null;
  macAddress: string | null;
  profileId: string | null;
  password?: string;
}

export interface Tenant {
  organisationId: string;
  profileId: string;
  sipDomain: string;
  groupId: string;
  subGroupId: string;
}

/** An organisation with a profile, a group using it by default and a sub-group. */
export async function createTenant(op: ApiClient, settings: Record<string, unknown> = {}): Promise<Tenant> {
  const org = await op.ok<{ id: string }>("POST", "/api/v1/organisations", { name: unique("Org") });
  const sipDomain = `${unique("sip").toLowerCase()}.example.net`;
  const profile = await op.ok<{ id: string }>("POST", "/api/v1/profiles", {
    organisationId: org.id,
    name: unique("Profile"),
    sipDomain,
    serverHost: "sip.example.net",
    ...settings,
  });
  const group = await op.ok<{ id: string }>("POST", "/api/v1/groups", {
    organisationId: org.id,
    name: unique("Group"),
    defaultProfileId: profile.id,
  });
  const sub = await op.ok<{ id: string }>("POST", "/api/v1/groups", {
    parentId: group.id,
    name: unique("Sub"),
  });
  return { organisationId: org.id, profileId: profile.id, sipDomain, groupId: group.id, subGroupId: sub.id };
}
