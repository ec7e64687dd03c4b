/** What the admin API answers, as far as the console reads it (the OpenAPI document has all of it). */

export type Role = "operator" | "company_admin" | "group_admin" | "group_supervisor";

export interface User {
  id: string;
  email: string;
  name: string;
  role: Role;
  organisationId: string | null;
  groupId: string | null;
  groupIds: string[];
  active: boolean;
}

export interface Session {
  id: string;
  user: User;
  csrfToken: string;
  createdAt: string;
  expiresAt: string;
}

export interface SessionSummary {
  id: string;
  createdAt: string;
  lastSeenAt: string | null;
  expiresAt: string;
  address: string | null;
  userAgent: string | null;
  current: boolean;
}

export interface Organisation {
  id: string;
  name: string;
  active: boolean;
  sipDomains: string[];
}

export interface Group {
  id: string;
  organisationId: string;
  parentId: string | null;
  name: string;
  reference: string | null;
  itEmail: string | null;
  active: boolean;
  defaultProfileId: string | null;
}

/** A group as the list answers it, with the counts of the portal's group page. */
export interface ListedGroup extends Group {
  activeDevices: number;
  dueForRenewal: number;
  hasActiveDevices: boolean;
}

export interface GroupMembers {
  groupId: string;
  userIds: string[];
  users: User[];
}

export type BillingPlan = "monthly" | "quarterly" | "yearly";
export type SubscriptionState = "activation_pending" | "active" | "deactivation_pending" | "ended";
export type RequestKind = "activation" | "deactivation";

export interface Subscription {
  billingPlan: BillingPlan;
  renewsOn: string | null;
  state: SubscriptionState;
  endsOn: string | null;
  dueSoon: boolean;
  renewedWithoutNotice: boolean;
  renewalConfirmed: boolean;
  pendingRequest: { id: string; kind: RequestKind } | null;
}

export interface SubscriptionRequest {
  id: string;
  accountId: string;
  kind: RequestKind;
  status: "pending" | "approved" | "rejected" | "withdrawn";
  note: string | null;
  endsOn: string | null;
  requestedBy: string;
  requestedAt: string;
  decidedBy: string | null;
  decidedAt: string | null;
  reason: string | null;
}

export interface ActivationLink {
  url: string;
  expiresAt: string;
  qrSvg: string;
}

export interface RotatedCredential {
  username: string;
  password: string;
  previousValidUntil: string | null;
  [key: string]: unknown;
}

export interface Profile {
  id: string;
  organisationId: string;
  name: string;
  sipDomain: string;
  serverHost: string;
  announcementLanguage?: string;
  licenseMode?: string;
}

export type AccountStatus = "pending_activation" | "active" | "disabled";

export interface Account {
  id: string;
  groupId: string;
  type: "PGSM" | "SNOM";
  mode: "manual" | "wizard" | "batch";
  status: AccountStatus;
  disabledReason: string | null;
  username: string;
  sipDomain: string;
  displayName: string | null;
  phoneNumber: string | null;
  macAddress: string | null;
  profileId: string | null;
  licenseKey: string | null;
  notes: string | null;
  subscription: Subscription;
  createdAt: string;
  updatedAt: string;
  password?: string;
}

export interface Message {
  id: string;
  channel: string;
  kind: string;
  to: string;
  status: string;
  createdAt: string;
  clickedAt?: string | null;
  failureReason?: string | null;
}

export interface AccountDetails extends Account {
  statusReason: string;
  profile: Profile;
  registrations: Record<string, unknown>[];
  messages: Message[];
  certificates: Record<string, unknown>[];
  license: Record<string, unknown> | null;
  device: Record<string, unknown> | null;
  activationAttempts: Record<string, unknown>[];
  snomProvisioning: Record<string, unknown> | null;
  recentEvents: { occurredAt: string; action: string; actor: string; requestId: string | null }[];
  [section: string]: unknown;
}

export interface Cdr {
  id: string;
  caller: string;
  callee: string;
  startedAt: string;
  durationSeconds: number | null;
  status: string;
}

export interface AuditEvent {
  id: string;
  occurredAt: string;
  action: string;
  actor: { userId: string | null; tokenId: string | null; label: string };
  targetType: string;
  targetId: string | null;
}

/** Roles that may act (the API refuses the others anyway: the console does not offer it). */
export const mayAct = (role: Role): boolean => role !== "group_supervisor";
export const mayManageUsers = (role: Role): boolean => role === "operator" || role === "company_admin";
