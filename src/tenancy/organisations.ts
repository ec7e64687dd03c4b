import type { z } from "zod";
import type { Actor } from "../audit/actor.js";
import type { AuditService } from "../audit/service.js";
import type { Clock } from "../clock.js";
import { changedColumns, isEmptyChange } from "../db/changes.js";
import { withConflicts } from "../db/constraints.js";
import type { Database } from "../db/database.js";
import { allOf, pageOf } from "../db/listing.js";
import { ConflictError } from "../errors.js";
import type { Page } from "../http/list.js";
import { ids } from "../ids.js";
import { visibleOrganisation } from "./authority.js";
import type * as schemas from "./schemas.js";
import { tenancyStore as store } from "./store.js";
import { type Organisation, organisationView } from "./views.js";

type Input<S extends z.ZodType> = z.output<S>;

export class Organisations {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly audit: AuditService,
  ) {}

  list(actor: Actor, query: Input<typeof schemas.organisationListQuery>): Promise<Page<Organisation>> {
    return pageOf(
      store.organisationList(this.db.knex, actor.principal.scope, query),
      query,
      organisationView,
    );
  }

  export(actor: Actor, query: Input<typeof schemas.organisationExportQuery>): AsyncIterable<Organisation> {
    return allOf(
      store.organisationList(this.db.knex, actor.principal.scope, query),
      "organisations.id",
      organisationView,
    );
  }

  async get(actor: Actor, id: string): Promise<Organisation> {
    return organisationView(await visibleOrganisation(this.db.knex, actor.principal.scope, id));
  }

  async create(actor: Actor, body: Input<typeof schemas.createOrganisationBody>): Promise<Organisation> {
    return this.db.knex.transaction(async (trx) => {
      const row = await withConflicts(() =>
        store.insertOrganisation(trx, { id: ids.uuid(), name: body.name }, this.clock.now()),
      );
      const after = organisationView(row);
      await this.audit.record(trx, actor, {
        action: "organisation.created",
        targetType: "organisation",
        targetId: row.id,
        organisationId: row.id,
        after,
      });
      return after;
    });
  }

  async update(
    actor: Actor,
    id: string,
    body: Input<typeof schemas.updateOrganisationBody>,
  ): Promise<Organisation> {
    return this.db.knex.transaction(async (trx) => {
      const before = await visibleOrganisation(trx, actor.principal.scope, id, true);
      const changes = changedColumns(before, body);
      if (isEmptyChange(changes)) return organisationView(before);
      const row = await withConflicts(() => store.updateOrganisation(trx, id, changes, this.clock.now()));
      const after = organisationView(row);
      await this.audit.record(trx, actor, {
        action: "organisation.updated",
        targetType: "organisation",
        targetId: id,
        organisationId: id,
        before: organisationView(before),
        after,
      });
      return after;
    });
  }

  async delete(actor: Actor, id: string): Promise<Organisation> {
    return this.db.knex.transaction(async (trx) => {
      const before = organisationView(await visibleOrganisation(trx, actor.principal.scope, id, true));
      const dependants = await store.organisationDependants(trx, id);
      if (dependants.groups > 0 || dependants.users > 0 || dependants.profiles > 0) {
        throw new ConflictError(
          `organisation still has ${dependants.groups} group(s), ${dependants.users} company user(s) and ${dependants.profiles} profile(s); remove them first`,
        );
      }
      await store.deleteOrganisation(trx, id);
      await this.audit.record(trx, actor, {
        action: "organisation.deleted",
        targetType: "organisation",
        targetId: id,
        organisationId: id,
        before,
      });
      return before;
    });
  }
}
