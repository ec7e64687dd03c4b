import { readFileSync } from "node:fs";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import type { ApiClient } from "../support/api.js";

let seq = 0;
const unique = (prefix: string) => `${prefix}-${process.pid}-${++seq}`;
let phone = 0;
export const nextPhone = () =>
  `+4179${String(process.pid % 1000).padStart(3, "0")}${String(++phone).padStart(4, "0")}`;

export interface Tenant {
  organisationId: string;
  profileId: string;
  groupId: string;
  sipDomain: string;
}

/** An organisation with a profile and a group defaulting to it. */
export async function createTenant(
  op: ApiClient,
  options: { sipDomain?: string; serverHost?: string; profile?: Record<string, unknown> } = {},
): Promise<Tenant> {
  const org = await op.ok<{ id: string }>("POST", "/api/v1/organisations", { name: unique("Org") });
  const sipDomain = options.sipDomain ?? `${unique("act").toLowerCase()}.example.net`;
  const profile = await op.ok<{ id: string }>("POST", "/api/v1/profiles", {
    organisationId: org.id,
    name: unique("Profile"),
    sipDomain,
    serverHost: options.serverHost ?? "sip.example.net",
    ...options.profile,
  });
  const group = await op.ok<{ id: string }>("POST", "/api/v1/groups", {
    organisationId: org.id,
    name: unique("Group"),
    defaultProfileId: profile.id,
  });
  return { organisationId: org.id, profileId: profile.id, groupId: group.id, sipDomain };
}

export interface WizardAccount {
  id: string;
  username: string;
  sipDomain: string;
  displayName: string;
}

/** An account as the wizard makes it: pending activation, with a phone number. */
export async function createWizardAccount(
  op: ApiClient,
  tenant: Tenant,
  extra: Record<string, unknown> = {},
): Promise<WizardAccount> {
  const displayName = unique("Ada Lovelace");
  const account = await op.ok<{ id: string; username: string; sipDomain: string; status: string }>(
    "POST",
    "/api/v1/accounts",
    {
      groupId: tenant.groupId,
      type: "PGSM",
      mode: "wizard",
      phoneNumber: nextPhone(),
      displayName,
      ...extra,
    },
  );
  return { id: account.id, username: account.username, sipDomain: account.sipDomain, displayName };
}

/** A new activation link of the account; answers its token and URL. */
export async function activationLink(
  op: ApiClient,
  accountId: string,
): Promise<{ url: string; token: string }> {
  const link = await op.ok<{ url: string }>("POST", `/api/v1/accounts/${accountId}/activation-link`);
  const token = link.url.split("/a/")[1] ?? "";
  return { url: link.url, token };
}

export const device = {
  platform: "android",
  model: "Pixel 8",
  osVersion: "15",
  appVersion: "3.2.1",
  pushToken: "fcm-token-123",
};

export interface Answer {
  status: number;
  json: Record<string, unknown>;
  text: string;
  headers: Headers;
}

/** What the app does: GET or POST its activation link, unauthenticated. */
export async function callLink(
  baseUrl: string,
  method: "GET" | "POST",
  token: string,
  body?: unknown,
): Promise<Answer> {
  const response = await fetch(`${baseUrl}/a/${token}`, {
    method,
    ...(body !== undefined
      ? { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }
      : {}),
  });
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON
  }
  return { status: response.status, json, text, headers: response.headers };
}

const publishedSchema = JSON.parse(
  readFileSync(
    new URL("../../docs/provisioning/configuration-document.schema.json", import.meta.url),
    "utf8",
  ),
) as Record<string, unknown>;

/** The published JSON Schema, compiled by ajv (draft 2020-12, with formats). */
export function documentValidator() {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;
  addFormats(ajv);
  return { validate: ajv.compile(publishedSchema), schema: publishedSchema, ajv };
}
