import type { Knex } from "knex";
import type { z } from "zod";
import type { Actor } from "../audit/actor.js";
import type { AuditService } from "../audit/service.js";
import type { Clock } from "../clock.js";
import { changedColumns, isEmptyChange } from "../db/changes.js";
import { uniqueConstraints, withConflicts } from "../db/constraints.js";
import type { Database } from "../db/database.js";
import { allOf, pageOf } from "../db/listing.js";
import { ConflictError } from "../errors.js";
import type { DomainEvent, DomainEvents } from "../events.js";
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
    private readonly events: DomainEvents | null,
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
      const id = ids.uuid();
      await withConflicts(async () => {
        await store.insertOrganisation(trx, { id, name: body.name }, this.clock.now());
        await this.assignSipDomains(trx, id, [], body.sipDomains ?? []);
      });
      const after = organisationView(await visibleOrganisation(trx, actor.principal.scope, id));
      await this.audit.record(trx, actor, {
        action: "organisation.created",
        targetType: "organisation",
        targetId: id,
        organisationId: id,
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
    const events: DomainEvent[] = [];
    const result = await this.db.knex.transaction(async (trx) => {
      const before = await visibleOrganisation(trx, actor.principal.scope, id, true);
      const { sipDomains, ...fields } = body;
      const changes = changedColumns(before, fields);
      const domainsChanged =
        sipDomains !== undefined &&
        (sipDomains.length !== before.sip_domains.length ||
          sipDomains.some((domain) => !before.sip_domains.includes(domain)));
      if (isEmptyChange(changes) && !domainsChanged) return organisationView(before);
      await withConflicts(async () => {
        await store.updateOrganisation(trx, id, changes, this.clock.now());
        if (domainsChanged) await this.assignSipDomains(trx, id, before.sip_domains, sipDomains);
      });
      const row = await visibleOrganisation(trx, actor.principal.scope, id);
      const after = organisationView(row);
      await this.audit.record(trx, actor, {
        action: "organisation.updated",
        targetType: "organisation",
        targetId: id,
        organisationId: id,
        before: organisationView(before),
        after,
      });
      // Its name and domains change nothing for its accounts; its active flag changes everything.
      if (row.active !== before.active) {
        events.push({ type: "organisation.changed", organisationId: id, active: row.active });
      }
      return after;
    });
    await this.events?.publish(events);
    return result;
  }

  /**
   * Makes the organisation's SIP domains `wanted`: a domain of another organisation is refused
   * with the words of any clash, and one that a profile of this organisation uses stays.
   */
  private async assignSipDomains(trx: Knex, id: string, current: string[], wanted: string[]): Promise<void> {
    const added = wanted.filter((domain) => !current.includes(domain));
    const removed = current.filter((domain) => !wanted.includes(domain));
    const taken = await store.sipDomainsOwnedElsewhere(trx, id, added);
    if (taken.length > 0) {
      throw new ConflictError(
        `body.sipDomains: ${taken.join(", ")}: ${uniqueConstraints.organisation_sip_domains_pkey}`,
      );
    }
    const inUse = await store.sipDomainsInUse(trx, id, removed);
    if (inUse.length > 0) {
      throw new ConflictError(
        `body.sipDomains: ${inUse.join(", ")} is used by a profile of the organisation; give the profile another domain first`,
      );
    }
    await store.removeSipDomains(trx, id, removed);
    await store.addSipDomains(trx, id, added, this.clock.now());
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
