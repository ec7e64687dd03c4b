import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeWav } from "../../src/sip/wav.js";
import { type ApiClient, apiClient } from "../support/api.js";
import { databaseKind } from "../support/database.js";
import { startTestServer, type TestServer } from "../support/server.js";

/**
 * For every route of the server and every kind of caller, the status the caller gets.
 * The table is keyed by operationId and checked against the server's route table, so a new
 * route without an entry here fails this test.
 */
const actors = [
  "operator",
  "companyAdminSame",
  "companyAdminOther",
  "groupAdminOfGroup",
  "groupAdminOfSibling",
  "groupAdminOfParent",
  "supervisor",
  "inactiveUser",
  "revokedToken",
  "expiredToken",
  "noToken",
] as const;
type ActorName = (typeof actors)[number];
type Expectation = Record<ActorName, number>;

const refused = { inactiveUser: 401, revokedToken: 401, expiredToken: 401, noToken: 401 };
const everyRole = (status: number): Expectation => ({
  operator: status,
  companyAdminSame: status,
  companyAdminOther: status,
  groupAdminOfGroup: status,
  groupAdminOfSibling: status,
  groupAdminOfParent: status,
  supervisor: status,
  ...refused,
});
const everyone = (status: number): Expectation => ({
  ...everyRole(status),
  inactiveUser: status,
  revokedToken: status,
  expiredToken: status,
  noToken: status,
});
/** Reading something in group G of organisation A. */
const readInGroup = (status: number): Expectation => ({
  ...everyRole(status),
  companyAdminOther: 404,
  groupAdminOfSibling: 404,
});
/** Changing something in group G; a reference to G in a body answers 400 instead of 404. */
const writeInGroup = (status: number, invisible = 404): Expectation => ({
  ...readInGroup(status),
  companyAdminOther: invisible,
  groupAdminOfSibling: invisible,
  supervisor: 403,
});
const operatorOnly = (status: number): Expectation => ({
  ...everyRole(403),
  operator: status,
});

interface Fixture {
  orgA: string;
  orgB: string;
  groupP: string;
  groupG: string;
  groupS: string;
  supervisorUser: string;
  /** The default profile of the groups of organisation A. */
  profileA: string;
}

interface Cell {
  expect: Expectation;
  /** Builds a fresh request for one actor: a new target for anything that changes state. */
  request(
    f: Fixture,
    operator: ApiClient,
    n: number,
  ): Promise<{ method: string; path: string; body?: unknown; contentType?: string }>;
}

const get = (path: string) => async () => ({ method: "GET", path });
let counter = 0;
const unique = (prefix: string) => `${prefix}-${process.pid}-${++counter}`;

async function freshSupervisor(f: Fixture, operator: ApiClient): Promise<string> {
  const user = await operator.ok<{ id: string }>("POST", "/api/v1/users", {
    email: `${unique("sup")}@example.com`,
    name: "Fresh supervisor",
    role: "group_supervisor",
    groupId: f.groupG,
  });
  return user.id;
}

async function freshProfile(f: Fixture, operator: ApiClient): Promise<string> {
  const profile = await operator.ok<{ id: string }>("POST", "/api/v1/profiles", {
    organisationId: f.orgA,
    name: unique("Profile"),
    sipDomain: "a.example.net",
    serverHost: "sip.a.example.net",
  });
  return profile.id;
}

async function freshAccount(
  f: Fixture,
  operator: ApiClient,
  body: Record<string, unknown> = {},
): Promise<string> {
  const account = await operator.ok<{ id: string }>("POST", "/api/v1/accounts", {
    groupId: f.groupG,
    type: "PGSM",
    ...body,
  });
  return account.id;
}

let macs = 0;
/** A unicast MAC, different for every account this run makes (the pid keeps parallel runs apart). */
const nextMac = () =>
  `0004${(process.pid % 65_536).toString(16).padStart(4, "0")}${(++macs).toString(16).padStart(4, "0")}`.toUpperCase();
/** A deactivation request the operator made on a fresh account: the path of the request. */
async function pendingRequest(f: Fixture, operator: ApiClient): Promise<string> {
  const id = await freshAccount(f, operator);
  const outcome = await operator.ok<{ request: { id: string } }>(
    "POST",
    `/api/v1/accounts/${id}/deactivation-request`,
  );
  return `/api/v1/accounts/${id}/requests/${outcome.request.id}`;
}

let phones = 0;
const nextPhone = () =>
  `+4178${String(process.pid % 1000).padStart(3, "0")}${String(++phones).padStart(4, "0")}`;

/** Writing a profile of organisation A: the operator and A's company admins only. */
const profileWrite = (status: number, invisible = 404): Expectation => ({
  ...everyRole(403),
  operator: status,
  companyAdminSame: status,
  companyAdminOther: invisible,
});

const matrix: Record<string, Cell> = {
  healthz: { expect: everyone(200), request: get("/healthz") },
  readyz: { expect: everyone(200), request: get("/readyz") },
  metrics: { expect: everyone(200), request: get("/metrics") },
  openapi: { expect: everyone(200), request: get("/api/v1/openapi.json") },
  getMe: { expect: everyRole(200), request: get("/api/v1/me") },

  listOrganisations: { expect: everyRole(200), request: get("/api/v1/organisations") },
  exportOrganisations: { expect: everyRole(200), request: get("/api/v1/organisations.csv") },
  createOrganisation: {
    expect: operatorOnly(201),
    request: async () => ({ method: "POST", path: "/api/v1/organisations", body: { name: unique("Org") } }),
  },
  getOrganisation: {
    expect: { ...everyRole(200), companyAdminOther: 404 },
    request: async (f) => ({ method: "GET", path: `/api/v1/organisations/${f.orgA}` }),
  },
  updateOrganisation: {
    expect: operatorOnly(200),
    request: async (f) => ({
      method: "PATCH",
      path: `/api/v1/organisations/${f.orgA}`,
      body: { name: unique("Acme") },
    }),
  },
  deleteOrganisation: {
    expect: operatorOnly(200),
    request: async (_f, operator) => {
      const org = await operator.ok<{ id: string }>("POST", "/api/v1/organisations", {
        name: unique("Doomed"),
      });
      return { method: "DELETE", path: `/api/v1/organisations/${org.id}` };
    },
  },

  listGroups: { expect: everyRole(200), request: get("/api/v1/groups") },
  exportGroups: { expect: everyRole(200), request: get("/api/v1/groups.csv") },
  createGroup: {
    expect: writeInGroup(201, 400),
    request: async (f) => ({
      method: "POST",
      path: "/api/v1/groups",
      body: { parentId: f.groupG, name: unique("Team") },
    }),
  },
  getGroup: {
    expect: readInGroup(200),
    request: async (f) => ({ method: "GET", path: `/api/v1/groups/${f.groupG}` }),
  },
  updateGroup: {
    expect: writeInGroup(200),
    request: async (f) => ({
      method: "PATCH",
      path: `/api/v1/groups/${f.groupG}`,
      body: { reference: unique("ref") },
    }),
  },
  deleteGroup: {
    expect: writeInGroup(200),
    request: async (f, operator) => {
      const group = await operator.ok<{ id: string }>("POST", "/api/v1/groups", {
        parentId: f.groupG,
        name: unique("Leaf"),
      });
      return { method: "DELETE", path: `/api/v1/groups/${group.id}` };
    },
  },

  getGroupMembers: {
    expect: readInGroup(200),
    request: async (f) => ({ method: "GET", path: `/api/v1/groups/${f.groupG}/members` }),
  },
  // Assigning is the organisation's decision: operators and its company admins only.
  replaceGroupMembers: {
    expect: profileWrite(200),
    request: async (f, operator) => {
      const current = await operator.ok<{ userIds: string[] }>("GET", `/api/v1/groups/${f.groupG}/members`);
      const newcomer = await operator.ok<{ id: string }>("POST", "/api/v1/users", {
        email: `${unique("member")}@example.com`,
        name: "Newcomer",
        role: "group_supervisor",
        groupId: f.groupP,
      });
      return {
        method: "PUT",
        path: `/api/v1/groups/${f.groupG}/members`,
        body: { userIds: [...current.userIds, newcomer.id] },
      };
    },
  },

  listUsers: { expect: everyRole(200), request: get("/api/v1/users") },
  exportUsers: { expect: everyRole(200), request: get("/api/v1/users.csv") },
  createUser: {
    expect: writeInGroup(201, 400),
    request: async (f) => ({
      method: "POST",
      path: "/api/v1/users",
      body: {
        email: `${unique("new")}@example.com`,
        name: "New",
        role: "group_supervisor",
        groupId: f.groupG,
      },
    }),
  },
  getUser: {
    expect: readInGroup(200),
    request: async (f) => ({ method: "GET", path: `/api/v1/users/${f.supervisorUser}` }),
  },
  updateUser: {
    expect: writeInGroup(200),
    request: async (f, operator) => ({
      method: "PATCH",
      path: `/api/v1/users/${await freshSupervisor(f, operator)}`,
      body: { name: "Renamed" },
    }),
  },
  listUserGroups: {
    expect: readInGroup(200),
    request: async (f) => ({ method: "GET", path: `/api/v1/users/${f.supervisorUser}/groups` }),
  },
  deleteUser: {
    expect: writeInGroup(200),
    request: async (f, operator) => ({
      method: "DELETE",
      path: `/api/v1/users/${await freshSupervisor(f, operator)}`,
    }),
  },

  createToken: {
    expect: writeInGroup(201),
    request: async (f, operator) => ({
      method: "POST",
      path: `/api/v1/users/${await freshSupervisor(f, operator)}/tokens`,
      body: { name: "portal" },
    }),
  },
  createTokenForRole: {
    expect: operatorOnly(201),
    request: async () => ({ method: "POST", path: "/api/v1/tokens", body: { role: "operator" } }),
  },
  listTokens: {
    expect: readInGroup(200),
    request: async (f) => ({ method: "GET", path: `/api/v1/users/${f.supervisorUser}/tokens` }),
  },
  revokeToken: {
    expect: writeInGroup(200),
    request: async (f, operator) => {
      const userId = await freshSupervisor(f, operator);
      const token = await operator.ok<{ id: string }>("POST", `/api/v1/users/${userId}/tokens`, {});
      return { method: "DELETE", path: `/api/v1/tokens/${token.id}` };
    },
  },

  // Console sign-in. A bearer request has no console session: "current" is not found for it.
  createSession: {
    expect: everyone(401),
    request: async () => ({
      method: "POST",
      path: "/api/v1/sessions",
      body: { email: `${unique("nobody")}@example.com`, password: "not a password" },
    }),
  },
  getCurrentSession: { expect: everyRole(404), request: get("/api/v1/sessions/current") },
  listSessions: { expect: everyRole(200), request: get("/api/v1/sessions") },
  deleteCurrentSession: {
    expect: everyRole(404),
    request: async () => ({ method: "DELETE", path: "/api/v1/sessions/current" }),
  },
  deleteSession: {
    expect: everyRole(404),
    request: async () => ({ method: "DELETE", path: `/api/v1/sessions/${crypto.randomUUID()}` }),
  },

  inviteUser: {
    expect: writeInGroup(202),
    request: async (f, operator) => ({
      method: "POST",
      path: `/api/v1/users/${await freshSupervisor(f, operator)}/invitation`,
    }),
  },
  // The matrix's users have no password: the current one they send is never right.
  changeOwnPassword: {
    expect: everyRole(400),
    request: async () => ({
      method: "POST",
      path: "/api/v1/me/password",
      body: { currentPassword: "not set at all", password: "a long enough password" },
    }),
  },
  requestPasswordReset: {
    expect: everyone(202),
    request: async () => ({
      method: "POST",
      path: "/api/v1/password-reset",
      body: { email: `${unique("nobody")}@example.com` },
    }),
  },
  setPasswordWithToken: {
    expect: everyone(404),
    request: async () => ({
      method: "POST",
      path: `/api/v1/password-reset/${unique("never-issued")}`,
      body: { password: "a long enough password" },
    }),
  },

  listProfiles: { expect: everyRole(200), request: get("/api/v1/profiles") },
  createProfile: {
    expect: profileWrite(201, 400),
    request: async (f) => ({
      method: "POST",
      path: "/api/v1/profiles",
      body: {
        organisationId: f.orgA,
        name: unique("Profile"),
        sipDomain: "a.example.net",
        serverHost: "sip.a.example.net",
      },
    }),
  },
  getProfile: {
    expect: { ...everyRole(200), companyAdminOther: 404 },
    request: async (f) => ({ method: "GET", path: `/api/v1/profiles/${f.profileA}` }),
  },
  updateProfile: {
    expect: profileWrite(200),
    request: async (f, operator) => ({
      method: "PATCH",
      path: `/api/v1/profiles/${await freshProfile(f, operator)}`,
      body: { srtp: "mandatory" },
    }),
  },
  deleteProfile: {
    expect: profileWrite(200),
    request: async (f, operator) => ({
      method: "DELETE",
      path: `/api/v1/profiles/${await freshProfile(f, operator)}`,
    }),
  },

  listAccounts: { expect: everyRole(200), request: get("/api/v1/accounts") },
  exportAccounts: { expect: everyRole(200), request: get("/api/v1/accounts.csv") },
  createAccount: {
    expect: writeInGroup(201, 400),
    request: async (f) => ({
      method: "POST",
      path: "/api/v1/accounts",
      body: { groupId: f.groupG, type: "PGSM" },
    }),
  },
  importAccounts: {
    expect: writeInGroup(201, 400),
    request: async (f) => ({
      method: "POST",
      path: "/api/v1/accounts/import",
      body: `groupId,type,displayName\n${f.groupG},PGSM,Imported\n`,
      contentType: "text/csv",
    }),
  },
  getAccount: {
    expect: readInGroup(200),
    request: async (f, operator) => ({
      method: "GET",
      path: `/api/v1/accounts/${await freshAccount(f, operator)}`,
    }),
  },
  listAccountEvents: {
    expect: readInGroup(200),
    request: async (f, operator) => ({
      method: "GET",
      path: `/api/v1/accounts/${await freshAccount(f, operator)}/events`,
    }),
  },
  updateAccount: {
    expect: writeInGroup(200),
    request: async (f, operator) => ({
      method: "PATCH",
      path: `/api/v1/accounts/${await freshAccount(f, operator)}`,
      body: { displayName: "Renamed" },
    }),
  },
  deleteAccount: {
    expect: writeInGroup(200),
    request: async (f, operator) => ({
      method: "DELETE",
      path: `/api/v1/accounts/${await freshAccount(f, operator)}`,
    }),
  },
  resetAccountPassword: {
    expect: writeInGroup(200),
    request: async (f, operator) => ({
      method: "POST",
      path: `/api/v1/accounts/${await freshAccount(f, operator)}/reset-password`,
      body: {},
    }),
  },
  disableAccount: {
    expect: writeInGroup(200),
    request: async (f, operator) => ({
      method: "POST",
      path: `/api/v1/accounts/${await freshAccount(f, operator)}/disable`,
      body: { reason: "role matrix" },
    }),
  },
  moveAccount: {
    expect: writeInGroup(200),
    request: async (f, operator) => {
      const id = await freshAccount(f, operator);
      const target = await operator.ok<{ id: string }>("POST", "/api/v1/groups", {
        parentId: f.groupG,
        name: unique("Moved to"),
      });
      return { method: "POST", path: `/api/v1/accounts/${id}/move`, body: { groupId: target.id } };
    },
  },
  enableAccount: {
    expect: writeInGroup(200),
    request: async (f, operator) => {
      const id = await freshAccount(f, operator);
      await operator.ok("POST", `/api/v1/accounts/${id}/disable`, { reason: "to enable" }, 200);
      return { method: "POST", path: `/api/v1/accounts/${id}/enable` };
    },
  },

  // Device-facing: digest-authenticated, so a bearer token changes nothing.
  checkLicense: {
    expect: everyone(401),
    request: async () => ({ method: "POST", path: "/license/check", body: { sipDomain: "a.example.net" } }),
  },
  getLicensePublicKey: { expect: everyone(200), request: get("/license/public-key") },
  // The matrix server has no license vendor configured: whoever may ask gets 503.
  refreshAccountLicense: {
    expect: writeInGroup(503),
    request: async (f, operator) => ({
      method: "POST",
      path: `/api/v1/accounts/${await freshAccount(f, operator, { licenseKey: "LIC-MATRIX" })}/license/refresh`,
    }),
  },

  // The PKI: admin routes on an account of group G, public CA files, digest-authenticated client routes.
  revokeAccountKeys: {
    expect: writeInGroup(200),
    request: async (f, operator) => ({
      method: "POST",
      path: `/api/v1/accounts/${await freshAccount(f, operator)}/revoke-keys`,
      body: { reason: "superseded" },
    }),
  },
  listAccountCertificates: {
    expect: readInGroup(200),
    request: async (f, operator) => ({
      method: "GET",
      path: `/api/v1/accounts/${await freshAccount(f, operator)}/certificates`,
    }),
  },
  getCaChain: { expect: everyone(200), request: get("/pki/ca.pem") },
  getCrl: { expect: everyone(200), request: get("/pki/crl") },
  getCrlPem: { expect: everyone(200), request: get("/pki/crl.pem") },
  getAccountKeys: { expect: everyone(401), request: get("/pki/keys/100000?sipDomain=a.example.net") },
  rekeyClient: {
    expect: everyone(401),
    request: async () => ({
      method: "POST",
      path: "/client/rekey",
      body: { sipDomain: "a.example.net", csr: "-", reason: "initial" },
    }),
  },
  // Messaging
  sendInstallationSms: {
    expect: writeInGroup(201),
    request: async (f, operator) => ({
      method: "POST",
      path: `/api/v1/accounts/${await freshAccount(f, operator, { phoneNumber: nextPhone() })}/installation-sms`,
    }),
  },
  sendActivationSms: {
    expect: writeInGroup(201),
    request: async (f, operator) => ({
      method: "POST",
      path: `/api/v1/accounts/${await freshAccount(f, operator, { phoneNumber: nextPhone() })}/activation-sms`,
    }),
  },
  createActivationLink: {
    expect: writeInGroup(201),
    request: async (f, operator) => ({
      method: "POST",
      path: `/api/v1/accounts/${await freshAccount(f, operator)}/activation-link`,
    }),
  },
  listAccountMessages: {
    expect: readInGroup(200),
    request: async (f, operator) => ({
      method: "GET",
      path: `/api/v1/accounts/${await freshAccount(f, operator)}/messages`,
    }),
  },
  openInstallationLink: { expect: everyone(404), request: get("/i/unknown-code") },
  // Provisioning: the activation link is its own credential, so a bearer token changes nothing.
  // A link of its own per caller: failures are counted per link (provisioning.tokenFailureLimit).
  openActivationLink: {
    expect: everyone(404),
    request: async (_f, _op, n) => ({
      method: "GET",
      path: `/a/${"M".repeat(40)}${String(n).padStart(3, "0")}`,
    }),
  },
  activateApp: {
    expect: everyone(404),
    request: async (_f, _op, n) => ({
      method: "POST",
      path: `/a/${"N".repeat(40)}${String(n).padStart(3, "0")}`,
      body: { csr: "-", device: { platform: "ios", model: "m", osVersion: "1", appVersion: "1" } },
    }),
  },
  // SNOM provisioning: phones authenticate with their own credential, never with an API token.
  getSnomSettings: { expect: everyone(401), request: get("/snom/000413000001.xml") },
  getSnomSettingsByModel: { expect: everyone(401), request: get("/snom760-000413000001.htm") },
  rotateProvisioningCredential: {
    expect: writeInGroup(201),
    request: async (f, operator) => ({
      method: "POST",
      path: `/api/v1/accounts/${await freshAccount(f, operator, { type: "SNOM", macAddress: nextMac() })}/provisioning-credential`,
    }),
  },

  listMessageTemplates: {
    expect: profileWrite(200),
    request: async (f) => ({ method: "GET", path: `/api/v1/organisations/${f.orgA}/message-templates` }),
  },
  putMessageTemplate: {
    expect: profileWrite(200),
    request: async (f) => ({
      method: "PUT",
      path: `/api/v1/organisations/${f.orgA}/message-templates/installation_sms/en`,
      body: { body: "{organisation}: {link}" },
    }),
  },
  resetMessageTemplate: {
    expect: profileWrite(200),
    request: async (f, operator) => {
      const path = `/api/v1/organisations/${f.orgA}/message-templates/activation_sms/de`;
      await operator.ok("PUT", path, { body: "{link} {expiresAt}" }, 200);
      return { method: "DELETE", path };
    },
  },
  listOwnMessageTemplates: {
    expect: profileWrite(200),
    request: async (f) => ({ method: "GET", path: `/api/v1/message-templates?organisationId=${f.orgA}` }),
  },
  putOwnMessageTemplate: {
    expect: profileWrite(200),
    request: async (f) => ({
      method: "PUT",
      path: `/api/v1/message-templates/installation_sms/it?organisationId=${f.orgA}`,
      body: { body: "{organisation}: {link}" },
    }),
  },
  resetOwnMessageTemplate: {
    expect: profileWrite(200),
    request: async (f, operator) => {
      const path = `/api/v1/message-templates/activation_sms/es?organisationId=${f.orgA}`;
      await operator.ok("PUT", path, { body: "{link} {expiresAt}" }, 200);
      return { method: "DELETE", path };
    },
  },
  listAnnouncements: {
    expect: profileWrite(200),
    request: async (f) => ({ method: "GET", path: `/api/v1/announcements?organisationId=${f.orgA}` }),
  },
  putAnnouncement: {
    expect: profileWrite(200),
    request: async (f) => ({
      method: "PUT",
      path: `/api/v1/announcements/caller-disabled/en?organisationId=${f.orgA}`,
      body: writeWav(new Int16Array(800)),
      contentType: "audio/wav",
    }),
  },
  resetAnnouncement: {
    expect: profileWrite(200),
    request: async (f, operator) => {
      const path = `/api/v1/announcements/callee-unavailable/fr?organisationId=${f.orgA}`;
      const upload = await operator.call("PUT", path, writeWav(new Int16Array(800)), "audio/wav");
      expect(upload.status, upload.text).toBe(200);
      return { method: "DELETE", path };
    },
  },
  // No callback secret configured: every callback is refused.
  gatewayStatusCallback: {
    expect: everyone(401),
    request: async () => ({
      method: "POST",
      path: "/api/v1/messaging/status-callbacks/0123456789abcdef0123",
      body: { id: "SM1", status: "delivered" },
    }),
  },

  listAuditEvents: { expect: everyRole(200), request: get("/api/v1/audit-events") },
  exportAuditEvents: { expect: everyRole(200), request: get("/api/v1/audit-events.csv") },
  listCdrs: { expect: everyRole(200), request: get("/api/v1/cdrs") },
  exportCdrs: { expect: everyRole(200), request: get("/api/v1/cdrs.csv") },
  listAccountCdrs: {
    expect: readInGroup(200),
    request: async (f, operator) => ({
      method: "GET",
      path: `/api/v1/accounts/${await freshAccount(f, operator)}/cdrs`,
    }),
  },
  // Subscriptions (issue 16)
  requestActivation: {
    expect: writeInGroup(201),
    request: async (f, operator) => {
      const id = await freshAccount(f, operator);
      await operator.ok("POST", `/api/v1/accounts/${id}/disable`, { reason: "to be activated again" }, 200);
      return { method: "POST", path: `/api/v1/accounts/${id}/activation-request`, body: { note: "please" } };
    },
  },
  requestDeactivation: {
    expect: writeInGroup(201),
    request: async (f, operator) => ({
      method: "POST",
      path: `/api/v1/accounts/${await freshAccount(f, operator)}/deactivation-request`,
    }),
  },
  approveSubscriptionRequest: {
    expect: operatorOnly(200),
    request: async (f, operator) => ({
      method: "POST",
      path: `${await pendingRequest(f, operator)}/approve`,
    }),
  },
  rejectSubscriptionRequest: {
    expect: operatorOnly(200),
    request: async (f, operator) => ({
      method: "POST",
      path: `${await pendingRequest(f, operator)}/reject`,
      body: { reason: "the contract runs for a minimum of one year" },
    }),
  },
  withdrawSubscriptionRequest: {
    // The operator asked: only it withdraws; in-scope portal users are refused, others do not see it.
    expect: { ...writeInGroup(403), operator: 200 },
    request: async (f, operator) => ({
      method: "POST",
      path: `${await pendingRequest(f, operator)}/withdraw`,
    }),
  },
  confirmRenewal: {
    expect: writeInGroup(200),
    request: async (f, operator) => ({
      method: "POST",
      path: `/api/v1/accounts/${await freshAccount(f, operator, { billingPlan: "yearly" })}/renewal/confirm`,
    }),
  },
  listSubscriptionRequests: {
    expect: readInGroup(200),
    request: async (f, operator) => ({
      method: "GET",
      path: `/api/v1/accounts/${await freshAccount(f, operator)}/requests`,
    }),
  },
};

describe(`role matrix on ${databaseKind}`, () => {
  let t: TestServer;
  let operator: ApiClient;
  let fixture: Fixture;
  const tokens = {} as Record<ActorName, string | null>;

  beforeAll(async () => {
    // The matrix makes many refused calls from one address on purpose.
    t = await startTestServer({
      config: { http: { host: "127.0.0.1", port: 0, authFailureLimit: 100_000 } },
    });
    operator = apiClient(t.url, t.operatorToken);
    const org = (name: string) => operator.ok<{ id: string }>("POST", "/api/v1/organisations", { name });
    const group = (body: Record<string, unknown>) =>
      operator.ok<{ id: string }>("POST", "/api/v1/groups", body);
    const orgA = (await org("Org A")).id;
    const orgB = (await org("Org B")).id;
    const profileA = (
      await operator.ok<{ id: string }>("POST", "/api/v1/profiles", {
        organisationId: orgA,
        name: "Profile A",
        sipDomain: "a.example.net",
        serverHost: "sip.a.example.net",
      })
    ).id;
    const groupP = (await group({ organisationId: orgA, name: "Parent", defaultProfileId: profileA })).id;
    const groupG = (await group({ parentId: groupP, name: "Group" })).id;
    const groupS = (await group({ parentId: groupP, name: "Sibling" })).id;
    await group({ organisationId: orgB, name: "Other" });

    const userWithToken = async (body: Record<string, unknown>) => {
      const user = await operator.ok<{ id: string }>("POST", "/api/v1/users", {
        email: `${unique("user")}@example.com`,
        name: "User",
        ...body,
      });
      const token = await operator.ok<{ id: string; token: string }>(
        "POST",
        `/api/v1/users/${user.id}/tokens`,
        {},
      );
      return { userId: user.id, tokenId: token.id, token: token.token };
    };
    tokens.operator = t.operatorToken;
    tokens.companyAdminSame = (await userWithToken({ role: "company_admin", organisationId: orgA })).token;
    tokens.companyAdminOther = (await userWithToken({ role: "company_admin", organisationId: orgB })).token;
    tokens.groupAdminOfGroup = (await userWithToken({ role: "group_admin", groupId: groupG })).token;
    tokens.groupAdminOfSibling = (await userWithToken({ role: "group_admin", groupId: groupS })).token;
    tokens.groupAdminOfParent = (await userWithToken({ role: "group_admin", groupId: groupP })).token;
    const supervisor = await userWithToken({ role: "group_supervisor", groupId: groupG });
    tokens.supervisor = supervisor.token;

    const inactive = await userWithToken({ role: "company_admin", organisationId: orgA });
    await operator.ok("PATCH", `/api/v1/users/${inactive.userId}`, { active: false });
    tokens.inactiveUser = inactive.token;

    const revoked = await userWithToken({ role: "operator" });
    await operator.ok("DELETE", `/api/v1/tokens/${revoked.tokenId}`);
    tokens.revokedToken = revoked.token;

    const expired = await userWithToken({ role: "operator" });
    await t.db.database
      .knex("api_tokens")
      .where({ id: expired.tokenId })
      .update({ expires_at: new Date(Date.now() - 1000) });
    tokens.expiredToken = expired.token;
    tokens.noToken = null;

    fixture = { orgA, orgB, groupP, groupG, groupS, supervisorUser: supervisor.userId, profileA };
  });

  afterAll(async () => {
    await t.stop();
  });

  it("has an entry for every route the server serves", () => {
    expect(Object.keys(matrix).sort()).toEqual(t.server.routes.map((route) => route.operationId).sort());
  });

  // Every route times every caller, one request after another: it grows with each capability.
  it("answers every route for every caller as the table says", { timeout: 180_000 }, async () => {
    const mismatches: string[] = [];
    let n = 0;
    for (const route of t.server.routes) {
      const cell = matrix[route.operationId];
      if (!cell) continue;
      for (const actor of actors) {
        const request = await cell.request(fixture, operator, n++);
        const result = await apiClient(t.url, tokens[actor]).call(
          request.method,
          request.path,
          request.body,
          request.contentType,
        );
        if (result.status !== cell.expect[actor]) {
          mismatches.push(
            `${route.operationId} as ${actor}: expected ${cell.expect[actor]}, got ${result.status} ${result.text.slice(0, 200)}`,
          );
        }
      }
    }
    expect(mismatches).toEqual([]);
  });
});
