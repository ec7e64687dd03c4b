import type { Knex } from "knex";
import type { Actor, SystemActor } from "../audit/actor.js";
import type { AuditService } from "../audit/service.js";
import type { Clock } from "../clock.js";
import type { Database } from "../db/database.js";
import { NotFoundError } from "../errors.js";
import { fieldError, organisationOfUser } from "./authority.js";
import { hashPassword } from "./password-hash.js";
import type { SignInConfig } from "./sessions.js";
import { passwordMaxLength } from "./sign-in-schemas.js";
import { signInStore } from "./sign-in-store.js";
import { tenancyStore as store, type UserRow } from "./store.js";

/** Users' console passwords: set from the command line, from an invitation or a reset link. */
export class Passwords {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    private readonly config: SignInConfig,
  ) {}

  /** A password the configuration accepts, or a 400 naming the field. */
  assertAcceptable(password: string, path = "body.password"): void {
    if (password.length < this.config.passwordMinLength)
      throw fieldError(path, `must be at least ${this.config.passwordMinLength} characters`);
    if (password.length > passwordMaxLength)
      throw fieldError(path, `must be at most ${passwordMaxLength} characters`);
  }

  /**
   * `provisiond user password --email`: the operator's way back in. Ends every session of the
   * user and spends their unused links.
   */
  async setByEmail(email: string, password: string, actor: SystemActor): Promise<{ userId: string }> {
    this.assertAcceptable(password, "password");
    const hash = await hashPassword(password, this.config.scrypt);
    return this.db.knex.transaction(async (trx) => {
      const user = await store.findUserByEmail(trx, email.trim());
      if (!user) throw new NotFoundError(`no user with the e-mail ${email.trim()}`);
      await this.store(trx, user, hash, null, actor, "cli");
      return { userId: user.id };
    });
  }

  /** Writes the hash, spends links, ends sessions (but the one kept) and audits, in the caller's transaction. */
  private async store(
    trx: Knex,
    user: UserRow,
    hash: string,
    keepSessionId: string | null,
    actor: Actor | SystemActor,
    via: string,
  ): Promise<void> {
    const now = this.clock.now();
    await signInStore.setPasswordHash(trx, user.id, hash, now);
    await signInStore.spendPasswordTokensOfUser(trx, user.id, now);
    const ended = await signInStore.deleteSessionsOfUser(trx, user.id, keepSessionId);
    await this.audit.record(trx, actor, {
      action: "user.password_set",
      targetType: "user",
      targetId: user.id,
      organisationId: await organisationOfUser(trx, user),
      groupId: user.group_id,
      after: { via, sessionsEnded: ended },
    });
  }
}
