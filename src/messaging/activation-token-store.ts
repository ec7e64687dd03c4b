import type { Knex } from "knex";

export interface ActivationTokenRow {
  id: string;
  account_id: string;
  token_sha256: string;
  created_at: Date;
  expires_at: Date;
  invalidated_at: Date | null;
  used_at: Date | null;
}

/** Activation tokens: only their SHA-256 is kept. */
export const activationTokenStore = {
  /** Ends every live token of the account: a new link replaces the old. */
  async invalidateLive(trx: Knex, accountId: string, now: Date): Promise<number> {
    return trx("activation_tokens")
      .where({ account_id: accountId })
      .whereNull("invalidated_at")
      .whereNull("used_at")
      .update({ invalidated_at: now });
  },

  async insert(trx: Knex, row: ActivationTokenRow): Promise<void> {
    await trx("activation_tokens").insert(row);
  },

  /** The token a link carries, if it can still be used. */
  findUsable(db: Knex, tokenSha256: string, now: Date): Promise<ActivationTokenRow | undefined> {
    return db<ActivationTokenRow>("activation_tokens")
      .where({ token_sha256: tokenSha256 })
      .whereNull("invalidated_at")
      .whereNull("used_at")
      .andWhere("expires_at", ">", now)
      .first();
  },

  /** The token's row whatever its state (used, expired, replaced), to tell a client which. */
  findByHash(db: Knex, tokenSha256: string): Promise<ActivationTokenRow | undefined> {
    return db<ActivationTokenRow>("activation_tokens").where({ token_sha256: tokenSha256 }).first();
  },

  /**
   * Marks a usable token used; false when it no longer is. Conditional, so of two concurrent
   * activations exactly one gets the row (the other waits for the row lock, then sees used_at).
   */
  async consume(trx: Knex, id: string, now: Date): Promise<boolean> {
    const updated = await trx("activation_tokens")
      .where({ id })
      .whereNull("invalidated_at")
      .whereNull("used_at")
      .andWhere("expires_at", ">", now)
      .update({ used_at: now });
    return updated === 1;
  },
};
