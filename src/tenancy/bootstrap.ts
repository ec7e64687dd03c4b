import type { Knex } from "knex";
import { systemActor } from "../audit/actor.js";
import type { AuditService } from "../audit/service.js";
import type { Clock } from "../clock.js";
import type { Database } from "../db/database.js";
import { ConflictError, NotFoundError } from "../errors.js";
import { ids } from "../ids.js";
import type { ApiTokens, IssuedToken } from "./api-tokens.js";
import type { Role } from "./roles.js";
import { tenancyStore as store, type UserRow } from "./store.js";
import { userView } from "./views.js";

export const initialOperatorEmail = "operator@localhost";

/** First start and the command line: operators and tokens made without an API caller. */
export class Bootstrap {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    private readonly tokens: ApiTokens,
  ) {}

  /**
   * On a database without users, creates the initial operator and a token for it.
   * Returns the token once, or null when users already exist.
   */
  async bootstrapInitialOperator(): Promise<IssuedToken | null> {
    return this.db.knex.transaction(async (trx) => {
      await store.lockBootstrap(trx);
      if ((await store.countUsers(trx)) > 0) return null;
      const user = await this.insertOperator(
        trx,
        initialOperatorEmail,
        "Initial operator",
        "system:first-start",
      );
      return this.tokens.issue(trx, user, "initial operator token", null, systemActor("system:first-start"));
    });
  }

  /**
   * Issues a token from the command line for a user of the given role: the named user, or
   * the first active operator (creating one if there is none).
   */
  async issueTokenFromCli(options: {
    role: Role;
    email?: string;
    name?: string;
    expiresAt?: Date | null;
  }): Promise<IssuedToken> {
    return this.db.knex.transaction(async (trx) => {
      let user = options.email
        ? await store.findUserByEmail(trx, options.email)
        : options.role === "operator"
          ? await store.findFirstActiveOperator(trx)
          : undefined;
      if (options.email && user && user.role !== options.role) {
        throw new ConflictError(`user ${options.email} has role ${user.role}, not ${options.role}`);
      }
      if (user && !user.active) throw new ConflictError(`user ${user.email} is inactive`);
      if (!user) {
        if (options.role !== "operator") {
          throw new NotFoundError(
            `no ${options.role} user${options.email ? ` ${options.email}` : ""}: create it through the admin API first`,
          );
        }
        user = await this.insertOperator(trx, options.email ?? initialOperatorEmail, "Operator", "cli");
      }
      return this.tokens.issue(
        trx,
        user,
        options.name ?? "cli",
        options.expiresAt ?? null,
        systemActor("cli"),
      );
    });
  }

  private async insertOperator(trx: Knex, email: string, name: string, label: string): Promise<UserRow> {
    const user = await store.insertUser(
      trx,
      { id: ids.uuid(), email, name, role: "operator", organisation_id: null, group_id: null },
      this.clock.now(),
    );
    await this.audit.record(trx, systemActor(label), {
      action: "user.created",
      targetType: "user",
      targetId: user.id,
      after: userView(user),
    });
    return user;
  }
}
