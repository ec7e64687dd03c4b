import type { z } from "zod";
import { visibleAccount } from "../accounts/visibility.js";
import type { Actor } from "../audit/actor.js";
import type { Clock } from "../clock.js";
import type { Database } from "../db/database.js";
import { allOf, pageOf } from "../db/listing.js";
import type { Page } from "../http/list.js";
import { type CdrRow, cdrStore } from "./cdr-store.js";
import type { accountCdrListQuery, cdrExportQuery, cdrListQuery } from "./schemas.js";
import { type Cdr, cdrView } from "./views.js";

type Input<S extends z.ZodType> = z.output<S>;

/** How far back an account's call records go when the query names no start. */
const accountDefaultDays = 31;

/** The read side of call records: lists and exports, scoped by tenancy in the query. */
export class CallRecords {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  list(actor: Actor, query: Input<typeof cdrListQuery>): Promise<Page<Cdr>> {
    return pageOf<CdrRow, Cdr>(cdrStore.list(this.db.knex, actor.principal.scope, query), query, cdrView);
  }

  export(actor: Actor, query: Input<typeof cdrExportQuery>): AsyncGenerator<Cdr> {
    return allOf<CdrRow, Cdr>(cdrStore.list(this.db.knex, actor.principal.scope, query), "cdrs.id", cdrView);
  }

  /** An account's calls, made or received; the last month unless the query says from when. */
  async ofAccount(
    actor: Actor,
    accountId: string,
    query: Input<typeof accountCdrListQuery>,
  ): Promise<Page<Cdr>> {
    await visibleAccount(this.db.knex, actor.principal.scope, accountId);
    const from =
      query.from ?? new Date(this.clock.now().getTime() - accountDefaultDays * 86_400_000).toISOString();
    return pageOf<CdrRow, Cdr>(
      cdrStore.list(this.db.knex, actor.principal.scope, { ...query, from, accountId }),
      query,
      cdrView,
    );
  }
}
