import { createPublicKey, generateKeyPairSync, verify } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { EnvelopeSigner } from "../../src/licensing/envelope-signer.js";
import { createTestDatabase, databaseKind, type TestDatabase } from "../support/database.js";

describe(`the license envelope key on ${databaseKind}`, () => {
  let db: TestDatabase | undefined;
  afterEach(async () => {
    await db?.destroy();
  });

  it("is generated once and kept in the database, so restarts and other processes sign alike", async () => {
    db = await createTestDatabase();
    const clock = new ManualClock();
    const first = await EnvelopeSigner.load(null, db.database, clock);
    const again = await EnvelopeSigner.load(null, db.database, clock);
    expect(again.keyId).toBe(first.keyId);
    const body = Buffer.from('{"valid":true}');
    const signature = Buffer.from(first.sign(body), "base64");
    expect(verify(null, body, createPublicKey(again.publicKeyPem), signature)).toBe(true);
    expect(Buffer.from(first.publicKeyRaw, "base64url")).toHaveLength(32);
  });

  it("uses the configured key instead, and stores nothing", async () => {
    db = await createTestDatabase();
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const signer = await EnvelopeSigner.load(pem, db.database, new ManualClock());
    expect(signer.publicKeyPem).toBe(publicKey.export({ type: "spki", format: "pem" }).toString());
    const [row] = (await db.database.knex("license_signing_keys").count({ n: "*" })) as Array<{
      n: string | number;
    }>;
    expect(Number(row?.n)).toBe(0);
  });
});
