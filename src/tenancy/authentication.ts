import type { Clock } from "../clock.js";
import type { Database } from "../db/database.js";
import { UnauthorizedError } from "../errors.js";
import { hashApiToken, looksLikeApiToken } from "./api-token.js";
import { type Principal, scopeOf } from "./roles.js";
import { tenancyStore as store } from "./store.js";

/** Resolves bearer tokens to principals. */
export class Authentication {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  /** Resolves a bearer token to its principal, or throws 401 without saying which check failed. */
  async authenticate(bearer: string | undefined): Promise<Principal> {
    if (!bearer) throw new UnauthorizedError("an API token is required: send Authorization: Bearer <token>");
    if (!looksLikeApiToken(bearer)) throw new UnauthorizedError("the API token is not valid");
    const now = this.clock.now();
    const row = await store.findUserOfUsableToken(this.db.knex, hashApiToken(bearer), now);
    if (!row) throw new UnauthorizedError("the API token is not valid");
    await store.touchApiToken(this.db.knex, row.token_id, now);
    return {
      userId: row.id,
      tokenId: row.token_id,
      sessionId: null,
      email: row.email,
      name: row.name,
      role: row.role,
      organisationId: row.organisation_id,
      groupId: row.group_id,
      groupIds: row.group_ids,
      scope: scopeOf(row.role, row.organisation_id, row.group_ids, row.group_organisation_id),
    };
  }
}
