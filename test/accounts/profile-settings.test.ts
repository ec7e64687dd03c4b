import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiClient, apiClient } from "../support/api.js";
import { databaseKind } from "../support/database.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { type Problem, unique } from "./fixtures.js";

interface Settings {
  appLinks: { ios: string | null; android: string | null };
  snom: { firmwareUrl: string | null; timezone: string | null; language: string | null };
}

describe(`links, time zones and languages of a profile are validated, on ${databaseKind}`, () => {
  let t: TestServer;
  let op: ApiClient;
  let organisationId: string;

  beforeAll(async () => {
    t = await startTestServer();
    op = apiClient(t.url, t.operatorToken);
    organisationId = (await op.ok<{ id: string }>("POST", "/api/v1/organisations", { name: unique("Org") }))
      .id;
  });
  afterAll(async () => {
    await t.stop();
  });

  const create = (settings: Record<string, unknown>) =>
    op.call("POST", "/api/v1/profiles", {
      organisationId,
      name: unique("Profile"),
      sipDomain: `${unique("v").toLowerCase()}.example.org`,
      serverHost: "sip.example.org",
      ...settings,
    });

  const bad: Array<[string, Record<string, unknown>, string]> = [
    ["body.appLinks.ios", { appLinks: { ios: "javascript:alert(1)" } }, "must be an https: URL"],
    [
      "body.appLinks.android",
      { appLinks: { android: "http://play.example.com/app" } },
      "must be an https: URL",
    ],
    ["body.appLinks.ios", { appLinks: { ios: "data:text/html,<script>alert(1)</script>" } }, "https"],
    ["body.snom.firmwareUrl", { snom: { firmwareUrl: "javascript:alert(1)" } }, "http: or https:"],
    ["body.snom.timezone", { snom: { timezone: "Mars/Olympus_Mons" } }, "IANA time zone"],
    ["body.snom.timezone", { snom: { timezone: "GMT+1" } }, "IANA time zone"],
    ["body.snom.language", { snom: { language: "klingon" } }, "must be one of en, fr, it, es, de"],
  ];

  it("refuses what a portal must not render or a phone cannot use, naming the field, creating nothing", async () => {
    const before = (await op.ok<{ total: number }>("GET", "/api/v1/profiles")).total;
    for (const [path, settings, words] of bad) {
      const answer = await create(settings);
      expect(answer.status, JSON.stringify(settings)).toBe(400);
      const error = (answer.json as Problem).errors?.find((e) => e.path === path);
      expect(error?.message, `${path}: ${answer.text}`).toContain(words);
    }
    expect((await op.ok<{ total: number }>("GET", "/api/v1/profiles")).total).toBe(before);
  });

  it("keeps https links, IANA names (and UTC) and the supported languages; a bad edit changes nothing", async () => {
    const good = {
      appLinks: { ios: "https://apps.apple.com/app/id1", android: "https://play.google.com/store/apps/x" },
      snom: {
        firmwareUrl: "http://firmware.example.org/snom.bin",
        timezone: "Europe/Zurich",
        language: "fr",
      },
    };
    const created = await create(good);
    expect(created.status, created.text).toBe(201);
    const profile = created.json as Settings & { id: string };
    expect(profile.appLinks).toEqual(good.appLinks);
    expect(profile.snom).toMatchObject(good.snom);
    const utc = await op.ok<Settings>("PATCH", `/api/v1/profiles/${profile.id}`, {
      appLinks: good.appLinks,
      snom: { ...good.snom, timezone: "UTC" },
    });
    expect(utc.snom.timezone).toBe("UTC");

    for (const [path, settings] of bad) {
      const answer = await op.call("PATCH", `/api/v1/profiles/${profile.id}`, settings);
      expect(answer.status, JSON.stringify(settings)).toBe(400);
      expect((answer.json as Problem).errors?.some((e) => e.path === path)).toBe(true);
    }
    const stored = await op.ok<Settings>("GET", `/api/v1/profiles/${profile.id}`);
    expect(stored.appLinks).toEqual(good.appLinks);
    expect(stored.snom).toMatchObject({ ...good.snom, timezone: "UTC" });
  });
});
