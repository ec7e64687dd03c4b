import type { Clock } from "../clock.js";
import type { Database } from "../db/database.js";
import { NotFoundError } from "../errors.js";
import type { AccountsForMessaging } from "./account-messages.js";
import { outboxStore } from "./outbox-store.js";

export type Platform = "ios" | "android" | "unknown";

export function platformOf(userAgent: string): Platform {
  if (/iPhone|iPad|iPod|iOS/i.test(userAgent)) return "ios";
  if (/Android/i.test(userAgent)) return "android";
  return "unknown";
}

export type ClickAnswer =
  | { kind: "redirect"; location: string }
  | { kind: "choice"; links: { ios: string | null; android: string | null } };

/**
 * A click on an installation link (/i/{code}): the time, user agent and platform go on the
 * message (status clicked), then the phone is sent to its store; an unknown platform, or a
 * profile without that store's link, gets a page with both.
 */
export class InstallationClicks {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly accounts: Pick<AccountsForMessaging, "messagingContext">,
  ) {}

  async click(code: string, userAgent: string): Promise<ClickAnswer> {
    const row = await outboxStore.findByLinkCode(this.db.knex, code);
    const account = row?.account_id ? await this.accounts.messagingContext(row.account_id) : null;
    if (!row || !account) throw new NotFoundError("this installation link is unknown");
    const platform = platformOf(userAgent);
    const now = this.clock.now();
    await outboxStore.transition(
      this.db.knex,
      row.id,
      {
        status: "clicked",
        clicked_at: now,
        click_platform: platform,
        click_user_agent: userAgent.slice(0, 500),
        updated_at: now,
      },
      `clicked on ${platform}`,
    );
    const location = platform === "unknown" ? null : account.appLinks[platform];
    return location ? { kind: "redirect", location } : { kind: "choice", links: account.appLinks };
  }
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The small page for a platform we cannot tell: both store links. */
export function choicePage(links: { ios: string | null; android: string | null }): string {
  const items = [
    links.ios ? `<li><a href="${escapeHtml(links.ios)}">App Store (iPhone, iPad)</a></li>` : "",
    links.android ? `<li><a href="${escapeHtml(links.android)}">Google Play (Android)</a></li>` : "",
  ].join("");
  return `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>Install the app</title></head><body><h1>Install the app</h1><ul>${items || "<li>Ask your administrator for the app's download link.</li>"}</ul></body></html>`;
}
