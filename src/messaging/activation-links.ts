import { createHash } from "node:crypto";
import type { Knex } from "knex";
import type { Clock } from "../clock.js";
import { ids } from "../ids.js";
import { type ActivationTokenRow, activationTokenStore } from "./activation-token-store.js";

export const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

/**
 * One-time activation links (/a/{token}): a new one invalidates the account's older ones; only
 * the token's SHA-256 is stored. What the app does with the link is the provisioning issue's.
 */
export class ActivationLinks {
  constructor(
    private readonly clock: Clock,
    private readonly validitySeconds: number,
  ) {}

  /** Creates the account's new link in the caller's transaction. */
  async create(trx: Knex, accountId: string, baseUrl: string): Promise<{ url: string; expiresAt: Date }> {
    const now = this.clock.now();
    const token = ids.secret(32);
    const expiresAt = new Date(now.getTime() + this.validitySeconds * 1000);
    await activationTokenStore.invalidateLive(trx, accountId, now);
    await activationTokenStore.insert(trx, {
      id: ids.uuid(),
      account_id: accountId,
      token_sha256: sha256(token),
      created_at: now,
      expires_at: expiresAt,
      invalidated_at: null,
      used_at: null,
    });
    return { url: `${baseUrl}/a/${token}`, expiresAt };
  }

  /** The token's row while it is usable, for the provisioning issue's /a/{token}. */
  findUsable(db: Knex, token: string): Promise<ActivationTokenRow | undefined> {
    return activationTokenStore.findUsable(db, sha256(token), this.clock.now());
  }

  /** The token's row in any state, for telling a used link from an expired or replaced one. */
  lookup(db: Knex, token: string): Promise<ActivationTokenRow | undefined> {
    return activationTokenStore.findByHash(db, sha256(token));
  }

  /** Uses the link up in the caller's transaction; false when another request used it first. */
  consume(trx: Knex, row: ActivationTokenRow): Promise<boolean> {
    return activationTokenStore.consume(trx, row.id, this.clock.now());
  }
}
