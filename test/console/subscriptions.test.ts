import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { type AccountBody, createTenant, type Tenant, unique } from "../accounts/fixtures.js";
import { type ApiClient, apiClient } from "../support/api.js";
import { databaseKind } from "../support/database.js";
import { setUserPassword } from "../support/passwords.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { ensureConsoleBuilt, launchChromium } from "./browser.js";

const password = "a console passphrase for the subscriptions";

interface Details {
  status: string;
  groupId: string;
  subscription: {
    state: string;
    pendingRequest: { id: string; kind: string } | null;
    renewedWithoutNotice: boolean;
    renewalConfirmed: boolean;
  };
  snomProvisioning: { credential: { username: string } | null } | null;
}

/**
 * The console against the subscriptions, group and provisioning APIs in Debian's Chromium: what a
 * company admin and an operator see and do, found by role and accessible name. One browser and
 * one server for the file; each user signs in in a context of their own.
 */
describe(`the console's subscriptions, groups and provisioning, on ${databaseKind}`, {
  timeout: 120_000,
}, () => {
  let t: TestServer;
  let op: ApiClient;
  let tenant: Tenant;
  let browser: Browser;
  let adminEmail: string;
  let operatorEmail: string;
  let groupAdmin: { id: string; name: string };
  // Today, moved only forward (the session cookies' expiry follows it, the browser's clock does not).
  const clock = new ManualClock(new Date());

  beforeAll(async () => {
    ensureConsoleBuilt();
    [t, browser] = await Promise.all([
      startTestServer({
        clock,
        config: { messaging: { publicUrl: "https://prov.example.net", sweepMs: 50 } },
      }),
      launchChromium(),
    ]);
    op = apiClient(t.url, t.operatorToken);
    tenant = await createTenant(op);
    adminEmail = `${unique("admin")}@example.net`.toLowerCase();
    operatorEmail = `${unique("operator")}@example.net`.toLowerCase();
    await op.ok("POST", "/api/v1/users", {
      email: adminEmail,
      name: "Ada Admin",
      role: "company_admin",
      organisationId: tenant.organisationId,
    });
    await op.ok("POST", "/api/v1/users", { email: operatorEmail, name: "Otto Operator", role: "operator" });
    groupAdmin = await op.ok<{ id: string; name: string }>("POST", "/api/v1/users", {
      email: `${unique("gadmin")}@example.net`.toLowerCase(),
      name: "Gina Groupadmin",
      role: "group_admin",
      groupId: tenant.subGroupId,
    });
    await setUserPassword(t, adminEmail, password);
    await setUserPassword(t, operatorEmail, password);
  });
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  async function account(body: Record<string, unknown>): Promise<AccountBody> {
    return op.ok<AccountBody>("POST", "/api/v1/accounts", {
      groupId: tenant.groupId,
      mode: "manual",
      ...body,
    });
  }
  const details = (id: string) => op.ok<Details>("GET", `/api/v1/accounts/${id}`, undefined, 200);

  async function signedIn<T>(email: string, run: (page: Page) => Promise<T>): Promise<T> {
    const context = await browser.newContext({ locale: "en-GB", timezoneId: "UTC" });
    try {
      const page = await context.newPage();
      await page.goto(`${t.url}/console/`);
      await page.getByLabel("Email").fill(email);
      await page.getByLabel("Password").fill(password);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("heading", { name: "Accounts" }).waitFor();
      return await run(page);
    } finally {
      await context.close();
    }
  }

  it("a company admin requests a deactivation and the account shows in the Deactivation Pending tab", async () => {
    const leaving = await account({ type: "PGSM", displayName: "Lena Leaving", phoneNumber: "+41791000101" });
    const staying = await account({ type: "PGSM", displayName: "Sven Staying", phoneNumber: "+41791000102" });
    await signedIn(adminEmail, async (page) => {
      await page.goto(`${t.url}/console/accounts/${leaving.id}`);
      await page.getByRole("heading", { name: "Subscription" }).waitFor();
      // A company admin asks; only an operator decides.
      expect(await page.getByRole("button", { name: "Approve" }).count()).toBe(0);
      expect(await page.getByRole("button", { name: "Request activation" }).count()).toBe(0);
      await page.getByRole("button", { name: "Request deactivation" }).click();
      await page.getByRole("status").filter({ hasText: "Request deactivation" }).waitFor();
      expect(await page.getByTestId("subscription-state").textContent()).toBe("Deactivation pending");
      const history = page.getByRole("table", { name: "Requests" });
      await history.getByRole("cell", { name: "Pending" }).waitFor();
      expect(await history.getByRole("cell", { name: "Deactivation" }).count()).toBe(1);
      expect(await history.getByRole("cell", { name: adminEmail }).count()).toBe(1);
      await page.getByRole("button", { name: "Withdraw" }).waitFor();
      expect(await page.getByRole("button", { name: "Request deactivation" }).count()).toBe(0);

      await page.getByRole("link", { name: "Accounts", exact: true }).click();
      await page.getByRole("link", { name: "Deactivation Pending", exact: true }).click();
      await page.getByRole("cell", { name: "Lena Leaving" }).waitFor();
      expect(await page.getByRole("cell", { name: "Sven Staying" }).count()).toBe(0);
      expect(await page.getByRole("cell", { name: /Monthly, Deactivation pending/ }).count()).toBe(1);
    });
    expect((await details(leaving.id)).subscription.state).toBe("deactivation_pending");
    expect((await details(staying.id)).subscription.state).toBe("active");
  });

  it("an operator approves an activation request, and a rejected one shows its reason", async () => {
    const returning = await account({
      type: "PGSM",
      displayName: "Rita Returning",
      phoneNumber: "+41791000103",
    });
    const refused = await account({ type: "PGSM", displayName: "Ralf Refused", phoneNumber: "+41791000104" });
    for (const { id } of [returning, refused]) {
      await op.ok("POST", `/api/v1/accounts/${id}/disable`, { reason: "on leave" }, 200);
      await apiClient(t.url, t.operatorToken).ok("POST", `/api/v1/accounts/${id}/activation-request`, {
        note: "back from leave",
      });
    }
    await signedIn(operatorEmail, async (page) => {
      await page.getByRole("link", { name: "Activation Pending", exact: true }).click();
      await page.getByRole("cell", { name: "Rita Returning" }).waitFor();
      await page.getByRole("link", { name: `Details ${returning.username}` }).click();
      await page.getByRole("button", { name: "Approve" }).click();
      await page.getByRole("status").filter({ hasText: "Approve" }).waitFor();
      expect(await page.getByTestId("subscription-state").textContent()).toBe("Active");
      expect(await page.getByTestId("account-status").textContent()).toBe("Active");
      await page.getByRole("table", { name: "Requests" }).getByRole("cell", { name: "Approved" }).waitFor();

      await page.goto(`${t.url}/console/accounts/${refused.id}`);
      await page.getByRole("button", { name: "Reject" }).click();
      const form = page.getByRole("form", { name: "Reject" });
      await form.getByLabel("Reason").fill("the contract has ended");
      await form.getByRole("button", { name: "Confirm reject" }).click();
      const history = page.getByRole("table", { name: "Requests" });
      await history.getByRole("cell", { name: "Rejected" }).waitFor();
      expect(await history.getByRole("cell", { name: "the contract has ended" }).count()).toBe(1);
      expect(await page.getByTestId("account-status").textContent()).toBe("Disabled");
    });
    const approved = await details(returning.id);
    expect(approved.status).toBe("active");
    expect(approved.subscription).toMatchObject({ state: "active", pendingRequest: null });
    expect((await details(refused.id)).subscription.pendingRequest).toBeNull();
  });

  it("the groups page shows the active devices the test made, the Active filter and the members a company admin sets", async () => {
    const counted = await op.ok<{ id: string; name: string }>("POST", "/api/v1/groups", {
      organisationId: tenant.organisationId,
      name: unique("Counted"),
      defaultProfileId: tenant.profileId,
    });
    const empty = await op.ok<{ id: string; name: string }>("POST", "/api/v1/groups", {
      organisationId: tenant.organisationId,
      name: unique("Empty"),
    });
    for (const phone of ["+41791000201", "+41791000202", "+41791000203"]) {
      await account({ groupId: counted.id, type: "PGSM", phoneNumber: phone });
    }
    const off = await account({ groupId: counted.id, type: "PGSM", phoneNumber: "+41791000204" });
    await op.ok("POST", `/api/v1/accounts/${off.id}/disable`, { reason: "lost" }, 200);

    await signedIn(adminEmail, async (page) => {
      await page.getByRole("link", { name: "Groups", exact: true }).click();
      await page.getByRole("cell", { name: empty.name, exact: true }).waitFor();
      expect(await page.getByTestId(`active-devices-${counted.id}`).textContent()).toBe("3");
      expect(await page.getByTestId(`active-devices-${empty.id}`).textContent()).toBe("0");
      // "Active": the groups with at least one active device, as the server filters them.
      await page.getByRole("button", { name: "Active", exact: true }).click();
      await page.waitForURL(/hasActiveDevices=true/);
      await page.getByRole("cell", { name: empty.name, exact: true }).waitFor({ state: "detached" });
      await page.getByRole("cell", { name: counted.name, exact: true }).waitFor();

      // Members: the sub-group's group admin is assigned to the counted group as well.
      await page.getByRole("link", { name: `Group details ${counted.name}` }).click();
      await page.getByText("No users are assigned to this group.").waitFor();
      await page.getByRole("button", { name: "Change users" }).click();
      const form = page.getByRole("form", { name: "Change users" });
      await form.getByRole("checkbox", { name: new RegExp(groupAdmin.name) }).check();
      await form.getByRole("button", { name: "Save users" }).click();
      await page.getByRole("status").filter({ hasText: "The group's users are saved." }).waitFor();
      await page.getByRole("list", { name: "Users" }).getByText(groupAdmin.name).waitFor();
    });
    const members = await op.ok<{ userIds: string[] }>(
      "GET",
      `/api/v1/groups/${counted.id}/members`,
      undefined,
      200,
    );
    expect(members.userIds).toEqual([groupAdmin.id]);
  });

  it("a SNOM account's details show its provisioning credential section and a new credential once", async () => {
    const phone = await account({ type: "SNOM", macAddress: "000413AABB01", displayName: "Front desk" });
    const before = await details(phone.id);
    const oldUsername = before.snomProvisioning?.credential?.username ?? "";
    expect(oldUsername).not.toBe("");
    await signedIn(adminEmail, async (page) => {
      await page.goto(`${t.url}/console/accounts/${phone.id}`);
      await page.getByRole("heading", { name: "SNOM provisioning" }).waitFor();
      expect(await page.getByTestId("snom-credential-username").textContent()).toBe(oldUsername);
      // PGSM-only sections are not offered for a desk phone.
      expect(await page.getByRole("button", { name: "Activation link" }).count()).toBe(0);
      await page.getByRole("button", { name: "New provisioning credential" }).click();
      const shown = page.getByRole("region", { name: "The new provisioning credential (shown this once)" });
      await shown.waitFor();
      const secret = (await shown.getByTestId("credential-password").textContent()) ?? "";
      expect(secret.length).toBeGreaterThan(8);
      expect(await shown.getByTestId("credential-username").textContent()).toBe(
        (await details(phone.id)).snomProvisioning?.credential?.username,
      );
      // Once: after a reload the page has no secret to show.
      await page.reload();
      await page.getByRole("heading", { name: "SNOM provisioning" }).waitFor();
      expect(await page.getByText(secret).count()).toBe(0);
      // The replaced credential keeps its grace period, and the page says so.
      await page.getByText(new RegExp(`${oldUsername}: The previous credential still works until`)).waitFor();
    });
  });

  it("a PGSM account moves to another group and shows its activation link as a QR image", async () => {
    const moving = await account({ type: "PGSM", displayName: "Mona Moving", phoneNumber: "+41791000301" });
    await signedIn(adminEmail, async (page) => {
      await page.goto(`${t.url}/console/accounts/${moving.id}`);
      await page.getByRole("button", { name: "Activation link" }).click();
      const qr = page.getByRole("img", { name: "QR code of the activation link" });
      await qr.waitFor();
      expect(await qr.getAttribute("src")).toMatch(/^data:image\/svg\+xml/);
      // The SVG decodes as an image: it is drawn, with a size.
      await expect
        .poll(() =>
          qr.evaluate(
            (image: { complete: boolean; naturalWidth: number }) => image.complete && image.naturalWidth > 0,
          ),
        )
        .toBe(true);
      expect(await page.getByRole("link", { name: /^https:\/\/prov\.example\.net\// }).count()).toBe(1);

      await page.getByRole("button", { name: "Move" }).click();
      const form = page.getByRole("form", { name: "Move" });
      const sub = await op.ok<{ name: string }>("GET", `/api/v1/groups/${tenant.subGroupId}`, undefined, 200);
      await form.getByLabel("Move to group").selectOption({ label: sub.name });
      await form.getByRole("button", { name: "Confirm move" }).click();
      await page.getByRole("status").filter({ hasText: "The account is moved." }).waitFor();
    });
    expect((await details(moving.id)).groupId).toBe(tenant.subGroupId);
  });

  // Last in the file: it moves the clock past a renewal date.
  it("an account renewed without notice shows the red caution in the list and details until its renewal is confirmed", async () => {
    const day = (offsetDays: number) =>
      new Date(clock.now().getTime() + offsetDays * 86_400_000).toISOString().slice(0, 10);
    const renewsOn = day(10);
    const yearly = await account({
      type: "PGSM",
      displayName: "Yara Yearly",
      phoneNumber: "+41791000401",
      billingPlan: "yearly",
      renewsOn,
    });
    clock.set(new Date(`${renewsOn}T08:00:00Z`));
    await t.server.subscriptions.schedule.run();
    expect((await details(yearly.id)).subscription).toMatchObject({ renewedWithoutNotice: true });
    const caution = "Renewed without notice: confirm the renewal or give notice.";
    await signedIn(adminEmail, async (page) => {
      await page.getByRole("searchbox", { name: "Search" }).fill("Yara Yearly");
      await page.getByRole("button", { name: "Search", exact: true }).click();
      const row = page.getByRole("row").filter({ hasText: "Yara Yearly" });
      await row.getByRole("note").filter({ hasText: caution }).waitFor();
      expect(await row.getByText("Yearly, Active").count()).toBe(1);
      expect(await page.getByRole("note").count()).toBe(1);
      await row.getByRole("link", { name: `Details ${yearly.username}` }).click();
      await page.getByRole("note").filter({ hasText: caution }).waitFor();
      await page.getByRole("button", { name: "Confirm renewal" }).click();
      await page.getByRole("status").filter({ hasText: "Confirm renewal" }).waitFor();
      expect(await page.getByRole("note").count()).toBe(0);
      expect(await page.getByRole("button", { name: "Confirm renewal" }).count()).toBe(0);
    });
    expect((await details(yearly.id)).subscription).toMatchObject({
      renewedWithoutNotice: false,
      renewalConfirmed: true,
    });
  });
});
