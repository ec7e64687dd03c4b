import type { Clock } from "../clock.js";
import type { Database } from "../db/database.js";
import { NotFoundError } from "../errors.js";
import type { PkiAccounts } from "./account-keys.js";
import { pkiStore as store } from "./store.js";

/**
 * The key directory: a peer asks for an account's currently valid certificates to encrypt to
 * it. Revoked, expired and not yet valid certificates are never returned. The caller has been
 * authenticated in the same SIP domain (the route does that).
 */
export class KeyDirectory {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly accounts: PkiAccounts,
  ) {}

  async keysOf(username: string, sipDomain: string) {
    const holder = await this.accounts.keyHolders.find(this.db.knex, { username, sipDomain });
    if (!holder) throw new NotFoundError(`no account ${username} in ${sipDomain}`);
    const rows = await store.validCertificatesOf(this.db.knex, holder.accountId, this.clock.now());
    return {
      username: holder.username,
      sipDomain: holder.sipDomain,
      certificates: rows.map((row) => ({
        serial: row.serial,
        fingerprint: row.fingerprint,
        notBefore: new Date(row.not_before).toISOString(),
        notAfter: new Date(row.not_after).toISOString(),
        pem: row.pem,
      })),
    };
  }
}
