import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../src/package-info.js";
import {
  type AccountBody,
  createTenant,
  type Page as ListPage,
  type Tenant,
  unique,
} from "../accounts/fixtures.js";
import { type ApiClient, apiClient } from "../support/api.js";
import { databaseKind } from "../support/database.js";
import { setUserPassword } from "../support/passwords.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { ensureConsoleBuilt, launchChromium } from "./browser.js";

const adminPassword = "correct horse battery staple";
const supervisorPassword = "another long passphrase 42";

/**
 * The console in Debian's Chromium against the real server on PGlite (or PostgreSQL): what an
 * operator's customer does with it, found by role and accessible name as a screen reader would.
 * One browser and one server for the file; each user signs in in a context of their own.
 */
describe(`the web console in a real browser, on ${databaseKind}`, { timeout: 120_000 }, () => {
  let t: TestServer;
  let op: ApiClient;
  let tenant: Tenant;
  let browser: Browser;
  let admin: { email: string; context: BrowserContext; page: Page };
  let groupName: string;
  let subGroupName: string;
  let wizardAccountId = "";

  beforeAll(async () => {
    ensureConsoleBuilt();
    [t, browser] = await Promise.all([
      startTestServer({
        config: {
          messaging: {
            publicUrl: "https://prov.example.net",
            sweepMs: 50,
            sms: { reachablePrefixes: "+41" },
          },
        },
      }),
      launchChromium(),
    ]);
    op = apiClient(t.url, t.operatorToken);
    tenant = await createTenant(op, {
      appLinks: {
        ios: "https://apps.apple.com/app/pgsm/id1",
        android: "https://play.google.com/store/apps/details?id=pgsm",
      },
    });
    groupName = (await op.ok<{ name: string }>("GET", `/api/v1/groups/${tenant.groupId}`, undefined, 200))
      .name;
    subGroupName = (
      await op.ok<{ name: string }>("GET", `/api/v1/groups/${tenant.subGroupId}`, undefined, 200)
    ).name;
    // Accounts in the group and its sub-group, so the list shows a group header for each.
    const prepared: AccountBody[] = [];
    for (const [groupId, name, phone] of [
      [tenant.groupId, "Bruno Keller", "+41791000001"],
      [tenant.groupId, "Chiara Bianchi", "+41791000002"],
      [tenant.subGroupId, "Dana Meier", "+41791000003"],
    ] as const) {
      prepared.push(
        await op.ok<AccountBody>("POST", "/api/v1/accounts", {
          groupId,
          type: "PGSM",
          mode: "manual",
          displayName: name,
          phoneNumber: phone,
        }),
      );
    }
    // One of them disabled, so the Active tab has something to leave out.
    await op.ok("POST", `/api/v1/accounts/${prepared[0]?.id}/disable`, { reason: "left the company" }, 200);
    const email = `${unique("admin")}@example.net`.toLowerCase();
    await op.ok("POST", "/api/v1/users", {
      email,
      name: "Ada Admin",
      role: "company_admin",
      organisationId: tenant.organisationId,
    });
    await setUserPassword(t, email, adminPassword);
    const context = await browser.newContext({
      viewport: { width: 1180, height: 760 },
      locale: "en-GB",
      timezoneId: "UTC",
    });
    admin = { email, context, page: await context.newPage() };
  });
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  async function signIn(page: Page, email: string, password: string) {
    await page.goto(`${t.url}/console/`);
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Accounts" }).waitFor();
  }

  const text = async (page: Page, testId: string) => (await page.getByTestId(testId).textContent()) ?? "";

  it("signs in and lists the accounts with tabs, search, page size, paging, CSV export and group headers", async () => {
    const { page } = admin;
    await signIn(page, admin.email, adminPassword);
    await page.getByRole("cell", { name: "Dana Meier" }).waitFor();
    for (const tab of ["All", "Active", "Activation Pending", "Deactivation Pending"]) {
      expect(await page.getByRole("link", { name: tab, exact: true }).count(), tab).toBe(1);
    }
    // Accounts of two groups on one page: a header row for each group.
    expect(await page.getByRole("rowheader", { name: groupName }).count()).toBe(1);
    expect(await page.getByRole("rowheader", { name: subGroupName }).count()).toBe(1);
    const exportLink = page.getByRole("link", { name: "Export CSV" });
    expect(await exportLink.getAttribute("href")).toBe("/api/v1/accounts.csv");

    await page.getByRole("searchbox", { name: "Search" }).fill("Chiara");
    await page.getByRole("button", { name: "Search", exact: true }).click();
    await expect.poll(() => page.getByRole("cell", { name: "Dana Meier" }).count()).toBe(0);
    expect(await page.getByRole("cell", { name: "Chiara Bianchi" }).count()).toBe(1);
    expect(await exportLink.getAttribute("href")).toBe("/api/v1/accounts.csv?q=Chiara");
    // The export link answers the same rows as CSV with the session's cookie.
    const csv = await page.evaluate(
      async (href) => (await fetch(href)).text(),
      "/api/v1/accounts.csv?q=Chiara",
    );
    expect(csv).toContain("Chiara Bianchi");
    expect(csv).not.toContain("Dana Meier");

    // The tabs keep the search (seed: it searches within the chosen tab); an empty search shows all.
    await page.getByRole("link", { name: "All", exact: true }).click();
    expect(await page.getByRole("cell", { name: "Dana Meier" }).count()).toBe(0);
    await page.getByRole("searchbox", { name: "Search" }).fill("");
    await page.getByRole("button", { name: "Search", exact: true }).click();
    await page.getByLabel("Page size").selectOption("10");
    await page.getByRole("cell", { name: "Dana Meier" }).waitFor();
    expect(await page.getByText("Page 1 of 1 (3 accounts)").count()).toBe(1);
    expect(await page.getByRole("button", { name: "Next page" }).isDisabled()).toBe(true);

    await page.getByRole("link", { name: "Active", exact: true }).click();
    await expect.poll(() => page.getByRole("cell", { name: "Bruno Keller" }).count()).toBe(0);
    expect(await page.getByRole("cell", { name: "Dana Meier" }).count()).toBe(1);
    expect(page.url()).toContain("status=active");
    await page.getByRole("link", { name: "All", exact: true }).click();
    await page.getByRole("cell", { name: "Dana Meier" }).waitFor();
  });

  it("creates a PGSM account the wizard way with a provisioning profile, sends its activation SMS and sees the message", async () => {
    const { page } = admin;
    await page.getByRole("link", { name: "New account" }).click();
    await page.getByRole("heading", { name: "New account" }).waitFor();
    await page.getByLabel("Account Type").selectOption("PGSM");
    await page.getByRole("radio", { name: /^Wizard/ }).check();
    await page.getByLabel("Group").selectOption({ label: groupName });
    await page.getByLabel("Provisioning Profile").selectOption(tenant.profileId);
    await page.getByLabel("Display name").fill("Alice Rossi");
    await page.getByLabel("Phone number").fill("+41 79 555 12 34");
    await page.getByRole("button", { name: "Create" }).click();

    await page.getByRole("heading", { name: /Alice Rossi/ }).waitFor();
    wizardAccountId = /\/console\/accounts\/([0-9a-f-]{36})$/.exec(page.url())?.[1] ?? "";
    const created = await op.ok<AccountBody>("GET", `/api/v1/accounts/${wizardAccountId}`, undefined, 200);
    expect(created).toMatchObject({
      type: "PGSM",
      mode: "wizard",
      status: "pending_activation",
      phoneNumber: "+41795551234",
      profileId: tenant.profileId,
    });
    expect(await text(page, "account-status")).toBe("Activation pending");

    await page.getByRole("button", { name: "Send Activation Sms" }).click();
    await page.getByRole("status").filter({ hasText: "Send Activation Sms: queued." }).waitFor();
    const messages = page.getByRole("region", { name: "Messages" });
    await messages.getByRole("cell", { name: "activation_sms" }).waitFor();
    expect(await messages.getByRole("cell", { name: "+41795551234" }).count()).toBe(1);
    // The log gateway sends it within moments: "Refresh" shows the delivery status change.
    await expect
      .poll(
        async () => {
          await page.getByRole("button", { name: "Refresh" }).click();
          return messages.getByRole("cell", { name: "Sent", exact: true }).count();
        },
        { timeout: 10_000, interval: 300 },
      )
      .toBe(1);
    expect(await page.getByRole("columnheader", { name: "Installation clicked" }).count()).toBe(1);
    for (const section of ["Registrations", "Certificates", "License", "Calls of the last month", "Events"]) {
      expect(await page.getByRole("heading", { name: section, level: 2 }).count(), section).toBe(1);
    }
    await page.screenshot({ path: join(packageRoot, "docs", "console-account.png") });
  });

  it("disables the account and shows its status and reason; a refused action shows the server's detail", async () => {
    const { page } = admin;
    await page.getByRole("button", { name: "Disable account" }).click();
    const form = page.getByRole("form", { name: "Disable account" });
    // The reason field has the focus: the keyboard goes on where the button was pressed.
    expect(await page.evaluate("document.activeElement?.name")).toBe("reason");
    await form.getByLabel("Reason").fill("phone lost on a trip");
    await form.getByRole("button", { name: "Confirm disable" }).click();
    await expect.poll(() => text(page, "account-status")).toBe("Disabled");
    expect(await text(page, "status-reason")).toContain("phone lost on a trip");
    expect(await page.getByRole("button", { name: "Enable account" }).count()).toBe(1);
    const after = await op.ok<AccountBody>("GET", `/api/v1/accounts/${wizardAccountId}`, undefined, 200);
    expect([after.status, after.disabledReason]).toEqual(["disabled", "phone lost on a trip"]);

    await page.getByRole("button", { name: "Send Activation Sms" }).click();
    const alert = page.getByRole("alert");
    await alert.waitFor();
    expect(await alert.textContent()).toContain("status: the account is disabled");
    expect(await alert.textContent()).toContain("422");
  });

  it("edits the account: the form shows its values and saves a change", async () => {
    const { page } = admin;
    await page.getByRole("link", { name: "Edit" }).click();
    await page.getByRole("heading", { name: /^Edit account/ }).waitFor();
    const displayName = page.getByLabel("Display name");
    expect(await displayName.inputValue()).toBe("Alice Rossi");
    expect(await page.getByLabel("Phone number").inputValue()).toBe("+41795551234");
    await displayName.fill("Alice Rossi-Meier");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByRole("heading", { name: /^Alice Rossi-Meier/ }).waitFor();
    const after = await op.ok<AccountBody>("GET", `/api/v1/accounts/${wizardAccountId}`, undefined, 200);
    expect([after.displayName, after.phoneNumber, after.status]).toEqual([
      "Alice Rossi-Meier",
      "+41795551234",
      "disabled",
    ]);
  });

  it("shows the accounts page", async () => {
    const { page } = admin;
    await page.getByRole("link", { name: "Accounts", exact: true }).click();
    await page.getByRole("cell", { name: "Alice Rossi" }).waitFor();
    await page.screenshot({ path: join(packageRoot, "docs", "console-accounts.png") });
  });

  it("imports a CSV with a bad row: the row's error shows against the row and nothing is created", async () => {
    const { page } = admin;
    const before = (await op.ok<ListPage<AccountBody>>("GET", "/api/v1/accounts?pageSize=1", undefined, 200))
      .total;
    await page.getByRole("link", { name: "Import CSV" }).click();
    await page.getByRole("heading", { name: "Import accounts from CSV" }).waitFor();
    const csv = [
      "groupId,type,displayName,phoneNumber",
      `${tenant.groupId},PGSM,Good Row,+41791110001`,
      `${tenant.groupId},PGSM,Bad Row,not-a-number`,
      `${tenant.groupId},PGSM,Another Good Row,+41791110002`,
    ].join("\n");
    await page
      .getByLabel("CSV file")
      .setInputFiles({ name: "accounts.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
    await page.getByRole("button", { name: "Import" }).click();
    await page.getByRole("alert").waitFor();
    const bad = page.getByRole("row", { name: /Bad Row/ });
    await expect
      .poll(async () => (await bad.textContent()) ?? "")
      .toContain("phoneNumber: must be a valid phone number");
    expect(await bad.getByRole("rowheader").textContent()).toBe("3");
    expect(
      await page
        .getByRole("row", { name: /Good Row/ })
        .first()
        .textContent(),
    ).not.toContain("must be");
    expect(
      (await op.ok<ListPage<AccountBody>>("GET", "/api/v1/accounts?pageSize=1", undefined, 200)).total,
    ).toBe(before);
  });

  it("a company admin adds a user and invites them; the invitation's link sets a password to sign in with", async () => {
    const { page } = admin;
    const email = `${unique("invited")}@example.net`.toLowerCase();
    await page.getByRole("link", { name: "Users", exact: true }).click();
    await page.getByRole("heading", { name: "Users" }).waitFor();
    const form = page.getByRole("form", { name: "New user" });
    await form.getByLabel("Email").fill(email);
    await form.getByLabel("Name", { exact: true }).fill("Ivo Invited");
    await form.getByLabel("Role").selectOption("group_admin");
    await form.getByLabel("Group").selectOption({ label: groupName });
    await form.getByRole("button", { name: "Create user" }).click();
    await page.getByRole("cell", { name: email, exact: true }).waitFor();
    await page.getByRole("button", { name: `Send invitation: ${email}` }).click();
    await page
      .getByRole("status")
      .filter({ hasText: `An invitation is on its way to ${email}.` })
      .waitFor();

    const mail = await t.db.database
      .knex("outbox_messages")
      .where({ kind: "console_invitation", recipient: email })
      .first();
    const link = new URL((mail.variables as { link: string }).link);
    expect(link.pathname).toMatch(/^\/console\/password\/[A-Za-z0-9_-]+$/);
    const context = await browser.newContext({ locale: "en-GB", timezoneId: "UTC" });
    try {
      const invited = await context.newPage();
      await invited.goto(`${t.url}${link.pathname}`);
      await invited.getByRole("heading", { name: "Set your password" }).waitFor();
      await invited.getByLabel("New password").fill("my own console password");
      await invited.getByLabel("Repeat password").fill("my own console password");
      await invited.getByRole("button", { name: "Set password" }).click();
      await invited.getByRole("status").filter({ hasText: "Your password is set." }).waitFor();
      // The link works once: the same page again shows the server's refusal.
      await invited.reload();
      await invited.getByLabel("New password").fill("another console password");
      await invited.getByLabel("Repeat password").fill("another console password");
      await invited.getByRole("button", { name: "Set password" }).click();
      expect(await invited.getByRole("alert").textContent()).toContain("410");
      await signIn(invited, email, "my own console password");
    } finally {
      await context.close();
    }
  });

  it("a group supervisor sees the accounts and their details, and no action buttons", async () => {
    const email = `${unique("supervisor")}@example.net`.toLowerCase();
    await op.ok("POST", "/api/v1/users", {
      email,
      name: "Sam Supervisor",
      role: "group_supervisor",
      groupId: tenant.groupId,
    });
    await setUserPassword(t, email, supervisorPassword);
    const context = await browser.newContext({ locale: "en-GB", timezoneId: "UTC" });
    try {
      const page = await context.newPage();
      await signIn(page, email, supervisorPassword);
      await page.getByRole("cell", { name: "Alice Rossi" }).waitFor();
      expect(await page.getByRole("link", { name: "New account" }).count()).toBe(0);
      expect(await page.getByRole("link", { name: "Import CSV" }).count()).toBe(0);
      expect(await page.getByRole("link", { name: "Users", exact: true }).count()).toBe(0);
      await page
        .getByRole("link", { name: /^Details .*/ })
        .first()
        .click();
      await page.getByRole("button", { name: "Refresh" }).waitFor();
      for (const name of [
        "Send Installation Sms",
        "Send Activation Sms",
        "Disable account",
        "Enable account",
        "Revoke all Keys",
        "Delete",
      ]) {
        expect(await page.getByRole("button", { name }).count(), name).toBe(0);
      }
      expect(await page.getByRole("link", { name: "Edit" }).count()).toBe(0);
    } finally {
      await context.close();
    }
  });

  it("keeps the session cookie from scripts and refuses a cross-site POST without the CSRF token", async () => {
    const { page, context } = admin;
    const cookie = (await context.cookies(t.url)).find((c) => c.name === "provisiond_session");
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/" });
    expect(await page.evaluate("document.cookie")).not.toContain("provisiond_session");

    const header = `provisiond_session=${cookie?.value}`;
    // The cookie alone does not make an unsafe request: the CSRF token must come with it.
    const forged = await fetch(`${t.url}/api/v1/accounts/${wizardAccountId}/enable`, {
      method: "POST",
      headers: { cookie: header, "content-type": "application/json" },
      body: "{}",
    });
    expect(forged.status).toBe(403);
    expect(((await forged.json()) as { type: string }).type).toMatch(/\/csrf$|:csrf$/);

    // A page of another origin posting a form at the API in the signed-in browser changes nothing.
    const otherOrigin: Server = createServer((_req, res) => {
      res.setHeader("content-type", "text/html");
      res.end(
        `<form id="f" method="POST" action="${t.url}/api/v1/accounts/${wizardAccountId}/enable"><input name="x" value="1"></form><script>document.getElementById("f").submit()</script>`,
      );
    });
    await new Promise<void>((resolve) => otherOrigin.listen(0, "127.0.0.1", resolve));
    try {
      const attacker = await context.newPage();
      const answer = attacker.waitForResponse((response) =>
        response.url().includes(`/accounts/${wizardAccountId}/enable`),
      );
      await attacker.goto(`http://127.0.0.1:${(otherOrigin.address() as AddressInfo).port}/`);
      expect((await answer).status()).toBeGreaterThanOrEqual(400);
      await attacker.close();
    } finally {
      otherOrigin.close();
    }
    const still = await op.ok<AccountBody>("GET", `/api/v1/accounts/${wizardAccountId}`, undefined, 200);
    expect(still.status).toBe("disabled");
  });

  it("signs out: back at the sign-in page, and the old cookie no longer works", async () => {
    const { page, context } = admin;
    const cookie = (await context.cookies(t.url)).find((c) => c.name === "provisiond_session");
    const header = { cookie: `provisiond_session=${cookie?.value}` };
    expect((await fetch(`${t.url}/api/v1/sessions/current`, { headers: header })).status).toBe(200);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    expect((await fetch(`${t.url}/api/v1/sessions/current`, { headers: header })).status).toBe(401);
    expect((await fetch(`${t.url}/api/v1/accounts`, { headers: header })).status).toBe(401);
    // A reload stays signed out.
    await page.reload();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
  });
});
