import type { ApiClient } from "../support/api.js";

let seq = 0;
const unique = (prefix: string) => `${prefix}-${process.pid}-${++seq}`;

export interface LicensedAccount {
  id: string;
  username: string;
  password: string;
  sipDomain: string;
  groupId: string;
  organisationId: string;
}

/** An organisation, a profile in the given license mode, a group and a PGSM account with a license key. */
export async function createLicensedAccount(
  op: ApiClient,
  options: { licenseMode?: "proxy" | "direct"; licenseKey?: string | null } = {},
): Promise<LicensedAccount> {
  const org = await op.ok<{ id: string }>("POST", "/api/v1/organisations", { name: unique("Org") });
  const sipDomain = `${unique("lic").toLowerCase()}.example.net`;
  const profile = await op.ok<{ id: string }>("POST", "/api/v1/profiles", {
    organisationId: org.id,
    name: unique("Profile"),
    sipDomain,
    serverHost: "sip.example.net",
    licenseMode: options.licenseMode ?? "proxy",
  });
  const group = await op.ok<{ id: string }>("POST", "/api/v1/groups", {
    organisationId: org.id,
    name: unique("Group"),
    defaultProfileId: profile.id,
  });
  const password = "correct-Horse-9";
  const account = await op.ok<{ id: string; username: string; sipDomain: string }>(
    "POST",
    "/api/v1/accounts",
    {
      groupId: group.id,
      type: "PGSM",
      mode: "manual",
      password,
      licenseKey: options.licenseKey === undefined ? unique("LIC") : options.licenseKey,
    },
  );
  return {
    id: account.id,
    username: account.username,
    password,
    sipDomain: account.sipDomain,
    groupId: group.id,
    organisationId: org.id,
  };
}
