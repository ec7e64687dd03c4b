import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ApiClient } from "../support/api.js";
import { DigestDevice } from "./device.js";

let seq = 0;
const unique = (prefix: string) => `${prefix}-${process.pid}-${++seq}`;

export interface KeyAccount {
  id: string;
  username: string;
  password: string;
  sipDomain: string;
  groupId: string;
  organisationId: string;
  profileId: string;
  device: DigestDevice;
}

/** An organisation, a profile, a group with an IT e-mail and a manually created PGSM account. */
export async function createKeyAccount(
  op: ApiClient,
  baseUrl: string,
  options: {
    profile?: Record<string, unknown>;
    itEmail?: string | null;
    sipDomain?: string;
    organisationId?: string;
  } = {},
): Promise<KeyAccount> {
  const organisationId =
    options.organisationId ??
    (await op.ok<{ id: string }>("POST", "/api/v1/organisations", { name: unique("Org") })).id;
  const sipDomain = options.sipDomain ?? `${unique("pki").toLowerCase()}.example.net`;
  const profile = await op.ok<{ id: string }>("POST", "/api/v1/profiles", {
    organisationId,
    name: unique("Profile"),
    sipDomain,
    serverHost: "sip.example.net",
    ...options.profile,
  });
  const group = await op.ok<{ id: string }>("POST", "/api/v1/groups", {
    organisationId,
    name: unique("Group"),
    defaultProfileId: profile.id,
    itEmail: options.itEmail === undefined ? "it@example.net" : options.itEmail,
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
    },
  );
  return {
    id: account.id,
    username: account.username,
    password,
    sipDomain: account.sipDomain,
    groupId: group.id,
    organisationId,
    profileId: profile.id,
    device: new DigestDevice(baseUrl, account.username, password, account.sipDomain),
  };
}

/** openssl on files in a fresh directory: answers exit status and output together. */
export function openssl(
  args: string[],
  files: Record<string, string | Buffer>,
): { ok: boolean; output: string } {
  const dir = mkdtempSync(join(tmpdir(), "provisiond-openssl-"));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  const run = spawnSync("openssl", args, { cwd: dir, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  return { ok: run.status === 0, output: `${run.stdout ?? ""}${run.stderr ?? ""}` };
}

/** `openssl verify -crl_check` of a certificate against the served chain and CRL. */
export async function verifyWithCrl(
  baseUrl: string,
  certificatePem: string,
  crlPath = "/pki/crl.pem",
): Promise<{ ok: boolean; output: string }> {
  const chain = await (await fetch(`${baseUrl}/pki/ca.pem`)).text();
  const crl = await (await fetch(`${baseUrl}${crlPath}`)).text();
  return openssl(["verify", "-crl_check", "-CAfile", "ca.pem", "-CRLfile", "crl.pem", "cert.pem"], {
    "ca.pem": chain,
    "crl.pem": crl,
    "cert.pem": certificatePem,
  });
}
