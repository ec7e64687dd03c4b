import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { ManualClock } from "../../src/clock.js";
import { configurationDocumentSchema } from "../../src/provisioning/schemas.js";
import { makeCsr } from "../pki/device.js";
import { type ApiClient, apiClient } from "../support/api.js";
import { startTestServer, type TestServer } from "../support/server.js";
import {
  activationLink,
  callLink,
  createTenant,
  createWizardAccount,
  device,
  documentValidator,
  type Tenant,
} from "./support.js";

const clock = new ManualClock(new Date());
let t: TestServer;
let op: ApiClient;
let tenant: Tenant;

beforeAll(async () => {
  t = await startTestServer({
    clock,
    config: { provisioning: { tokenFailureLimit: 3, addressFailureLimit: 6, failureWindowSeconds: 60 } },
  });
  op = apiClient(t.url, t.operatorToken);
  tenant = await createTenant(op);
});

afterAll(async () => {
  await t?.stop();
});

const knex = () => t.server.database.knex;

async function accountRow(id: string) {
  return knex()("accounts")
    .where({ id })
    .first("status", "ha1_md5", "ha1_sha256", "password_encrypted", "activated_at", "updated_at");
}

describe("activation failures", () => {
  it("a failure between the steps (the device insert) leaves the link usable and the account unchanged", async () => {
    const account = await createWizardAccount(op, tenant);
    const { token } = await activationLink(op, account.id);
    const before = await accountRow(account.id);
    await knex().raw(`
      CREATE FUNCTION refuse_device() RETURNS trigger AS $$
      BEGIN RAISE EXCEPTION 'injected failure: no devices today'; END
      $$ LANGUAGE plpgsql`);
    await knex().raw(
      "CREATE TRIGGER refuse_device BEFORE INSERT ON provisioning_devices FOR EACH ROW EXECUTE FUNCTION refuse_device()",
    );
    const csr = await makeCsr("P-256");
    let failed: Awaited<ReturnType<typeof callLink>>;
    try {
      failed = await callLink(t.url, "POST", token, { csr, device });
    } finally {
      await knex().raw("DROP TRIGGER refuse_device ON provisioning_devices");
      await knex().raw("DROP FUNCTION refuse_device()");
    }
    expect(failed.status).toBe(500);
    expect(failed.text).not.toContain("injected");
    expect(await accountRow(account.id)).toEqual(before);
    const tokenRow = await knex()("activation_tokens").where({ account_id: account.id }).first();
    expect(tokenRow.used_at).toBeNull();
    const certificates = await op.ok<{ items: unknown[] }>(
      "GET",
      `/api/v1/accounts/${account.id}/certificates`,
    );
    expect(certificates.items).toEqual([]);
    const audit = await knex()("audit_events").where({ target_id: account.id }).pluck("action");
    expect(audit).not.toContain("certificate.issued");
    expect(audit).not.toContain("account.activated");

    // The same request again, once the fault is gone, succeeds.
    const retried = await callLink(t.url, "POST", token, { csr, device });
    expect(retried.status, retried.text).toBe(200);
    const details = await op.ok<{ status: string; activationAttempts: Array<{ outcome: string }> }>(
      "GET",
      `/api/v1/accounts/${account.id}`,
    );
    expect(details.status).toBe("active");
    expect(details.activationAttempts.map((a) => a.outcome)).toEqual(["activated", "error"]);
  });

  it("limits failed attempts per link and per address: 429 with Retry-After, even for the right CSR", async () => {
    const account = await createWizardAccount(op, tenant);
    const { token } = await activationLink(op, account.id);
    for (let i = 0; i < 3; i++) {
      const refused = await callLink(t.url, "POST", token, { csr: "not a csr", device });
      expect(refused.status).toBe(400);
    }
    const csr = await makeCsr("P-256");
    const blocked = await callLink(t.url, "POST", token, { csr, device });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
    const log = t.logs.lines().filter((line) => line.security === "provisioning.activation_blocked");
    expect(log).toHaveLength(1);
    const audit = await knex()("audit_events").where({ target_id: account.id }).pluck("action");
    expect(audit).toContain("security.activation_blocked");

    // Unknown links count for the address: three more failures block it for every link.
    for (let i = 0; i < 3; i++)
      expect((await callLink(t.url, "GET", `${"B".repeat(42)}${i}`)).status).toBe(404);
    const other = await createWizardAccount(op, tenant);
    const otherLink = await activationLink(op, other.id);
    expect((await callLink(t.url, "GET", otherLink.token)).status).toBe(429);

    clock.advance(61_000);
    const later = await callLink(t.url, "POST", token, { csr, device });
    expect(later.status, later.text).toBe(200);
    const details = await op.ok<{ activationAttempts: Array<{ outcome: string }> }>(
      "GET",
      `/api/v1/accounts/${account.id}`,
    );
    expect(details.activationAttempts.map((a) => a.outcome)).toEqual([
      "activated",
      "rate_limited",
      "invalid_csr",
      "invalid_csr",
      "invalid_csr",
    ]);
  });

  it("the published JSON Schema is the server's own (src/provisioning/schemas.ts)", () => {
    const { schema } = documentValidator();
    const generated = z.toJSONSchema(configurationDocumentSchema, {
      target: "draft-2020-12",
      io: "output",
    }) as unknown as {
      $defs: { ConfigurationDocument: { properties: unknown; required: unknown } };
    };
    expect(schema.properties).toEqual(generated.$defs.ConfigurationDocument.properties);
    expect(schema.required).toEqual(generated.$defs.ConfigurationDocument.required);
    expect(schema.additionalProperties).toBe(false);
  });
});
