import { ManualClock } from "../../src/clock.js";
import { type ApiClient, apiClient } from "../support/api.js";
import { startTestServer, type TestServer } from "../support/server.js";

let seq = 0;
export const unique = (prefix: string) => `${prefix}-${process.pid}-${++seq}`;
let phones = 0;
export const nextPhone = () =>
  `+4179${String(process.pid % 1000).padStart(3, "0")}${String(++phones).padStart(4, "0")}`;

export interface Subscription {
  billingPlan: string;
  renewsOn: string | null;
  state: string;
  endsOn: string | null;
  dueSoon: boolean;
  renewedWithoutNotice: boolean;
  renewalConfirmed: boolean;
  pendingRequest: { id: string; kind: string } | null;
}
export interface Account {
  id: string;
  status: string;
  disabledReason: string | null;
  subscription: Subscription;
}
export interface Outcome {
  request: {
    id: string;
    kind: string;
    status: string;
    endsOn: string | null;
    reason: string | null;
    decidedBy: string | null;
  };
  subscription: Subscription;
}
export interface Problem {
  status: number;
  detail: string;
  errors?: Array<{ path: string; message: string }>;
}

/**
 * An organisation A with a parent group P, its sub-group G (the devices) and a sibling S; its
 * users: company admins (one inactive), a group admin of G, a supervisor of P, a group admin of
 * S (not above G: never a recipient); and an organisation B with a company admin of its own.
 */
export interface World {
  orgA: string;
  groupP: string;
  groupG: string;
  groupS: string;
  profileA: string;
  users: Record<
    "companyAdmin" | "inactiveAdmin" | "groupAdmin" | "supervisor" | "siblingAdmin" | "otherCompanyAdmin",
    { id: string; email: string; client: ApiClient }
  >;
}

export async function startAt(
  day: string,
  config: Record<string, unknown> = {},
): Promise<{ test: TestServer; clock: ManualClock; op: ApiClient }> {
  const clock = new ManualClock(new Date(`${day}T08:00:00Z`));
  // A long interval: the tests run the schedule themselves, except where the queue's timing is the point.
  const test = await startTestServer({
    clock,
    config: { subscriptions: { scheduleIntervalMs: 3_600_000 }, ...config },
  });
  return { test, clock, op: apiClient(test.url, test.operatorToken) };
}

export async function createWorld(url: string, op: ApiClient): Promise<World> {
  const orgA = (await op.ok<{ id: string }>("POST", "/api/v1/organisations", { name: unique("Org A") })).id;
  const orgB = (await op.ok<{ id: string }>("POST", "/api/v1/organisations", { name: unique("Org B") })).id;
  const sipDomain = `${unique("sub").toLowerCase()}.example.net`;
  const profileA = (
    await op.ok<{ id: string }>("POST", "/api/v1/profiles", {
      organisationId: orgA,
      name: unique("Profile"),
      sipDomain,
      serverHost: "sip.example.net",
    })
  ).id;
  const group = async (name: string, parentId?: string) =>
    (
      await op.ok<{ id: string }>("POST", "/api/v1/groups", {
        ...(parentId ? { parentId } : { organisationId: orgA }),
        name: unique(name),
        defaultProfileId: profileA,
      })
    ).id;
  const groupP = await group("P");
  const groupG = await group("G", groupP);
  const groupS = await group("S", groupP);
  const user = async (name: string, body: Record<string, unknown>) => {
    const email = `${unique(name)}@example.com`.toLowerCase();
    const created = await op.ok<{ id: string }>("POST", "/api/v1/users", { email, name, ...body });
    const token = await op.ok<{ token: string }>("POST", `/api/v1/users/${created.id}/tokens`, {});
    return { id: created.id, email, client: apiClient(url, token.token) };
  };
  const users = {
    companyAdmin: await user("company-admin", { role: "company_admin", organisationId: orgA }),
    inactiveAdmin: await user("inactive-admin", { role: "company_admin", organisationId: orgA }),
    groupAdmin: await user("group-admin", { role: "group_admin", groupId: groupG }),
    supervisor: await user("supervisor", { role: "group_supervisor", groupId: groupP }),
    siblingAdmin: await user("sibling-admin", { role: "group_admin", groupId: groupS }),
    otherCompanyAdmin: await user("other-admin", { role: "company_admin", organisationId: orgB }),
  };
  await op.ok("PATCH", `/api/v1/users/${users.inactiveAdmin.id}`, { active: false }, 200);
  return { orgA, groupP, groupG, groupS, profileA, users };
}

export async function createAccount(
  op: ApiClient,
  groupId: string,
  body: Record<string, unknown> = {},
): Promise<Account> {
  return op.ok<Account>("POST", "/api/v1/accounts", { groupId, type: "PGSM", ...body });
}

export const getAccount = (op: ApiClient, id: string) => op.ok<Account>("GET", `/api/v1/accounts/${id}`);

/** Moves the clock to 08:00 UTC of a day. */
export const moveTo = (clock: ManualClock, day: string) => clock.set(new Date(`${day}T08:00:00Z`));

/** The days from `from` to `to`, both included. */
export function daysFrom(from: string, to: string): string[] {
  const days: string[] = [];
  for (
    let d = new Date(`${from}T00:00:00Z`);
    d <= new Date(`${to}T00:00:00Z`);
    d.setUTCDate(d.getUTCDate() + 1)
  ) {
    days.push(d.toISOString().slice(0, 10));
  }
  return days;
}
