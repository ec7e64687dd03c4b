import type { Knex } from "knex";
import type { StoredDocument } from "./configuration-document.js";

export interface DeviceRow {
  account_id: string;
  platform: string;
  model: string;
  os_version: string;
  app_version: string;
  push_token: string | null;
  activated_at: Date;
  activation_token_id: string;
  csr_sha256: string;
  certificate_serial: string;
  /** The configuration document without its password. */
  document: StoredDocument;
}

export interface AttemptRow {
  id: string;
  account_id: string | null;
  activation_token_id: string | null;
  occurred_at: Date;
  method: string;
  address: string;
  outcome: string;
  detail: string | null;
}

/** The activated devices and the activation attempts. */
export const provisioningStore = {
  /** The account's device, replacing the one of an earlier activation. */
  async saveDevice(trx: Knex, row: DeviceRow): Promise<void> {
    await trx("provisioning_devices")
      .insert({ ...row, document: JSON.stringify(row.document) })
      .onConflict("account_id")
      .merge();
  },

  findDevice(db: Knex, accountId: string): Promise<DeviceRow | undefined> {
    return db<DeviceRow>("provisioning_devices").where({ account_id: accountId }).first();
  },

  async insertAttempt(db: Knex, row: Omit<AttemptRow, "id">): Promise<void> {
    await db("activation_attempts").insert(row);
  },

  recentAttempts(db: Knex, accountId: string, limit: number): Promise<AttemptRow[]> {
    return db<AttemptRow>("activation_attempts")
      .where({ account_id: accountId })
      .orderBy([
        { column: "occurred_at", order: "desc" },
        { column: "id", order: "desc" },
      ])
      .limit(limit);
  },
};
