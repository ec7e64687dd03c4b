import { randomBytes } from "node:crypto";
import type { Knex } from "knex";

/**
 * The SQL of sip_secrets: secrets generated on first start and kept in the database, so that
 * every node sharing the database uses the same one (the digest nonce key: each node accepts
 * the others' nonces).
 */
export class NonceSecretStore {
  constructor(private readonly knex: Knex) {}

  /** The stored secret of that name, generated and stored first when there is none yet. */
  async getOrCreate(name = "digest-nonce"): Promise<string> {
    await this.knex("sip_secrets")
      .insert({ name, value: randomBytes(32).toString("base64url") })
      .onConflict("name")
      .ignore();
    const row = (await this.knex("sip_secrets").where({ name }).first()) as { value: string } | undefined;
    if (!row) throw new Error("the SIP nonce secret could not be stored");
    return row.value;
  }
}
