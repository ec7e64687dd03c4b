import type { Database } from "../db/database.js";
import type { DomainEvents } from "../events.js";
import { type InactiveTenant, tenancyStore } from "../tenancy/store.js";

/**
 * Which groups an inactive organisation or group stops, per group, for the account lookups of
 * the registrar and the license proxy. A group's answer is read once and kept until an
 * organisation or group changes (in this process or, relayed, in another) or events were missed:
 * a join per lookup cost the database three times the planning of the bare row lookup, on every
 * registration the caches had not seen.
 */
export class InactiveTenants {
  private readonly byGroup = new Map<string, InactiveTenant>();
  private readonly loading = new Map<string, Promise<InactiveTenant>>();
  /** Bumped by every change, so a read that raced a change is not kept. */
  private generation = 0;

  constructor(
    private readonly db: Database,
    events: DomainEvents,
  ) {
    events.subscribe((event) => {
      if (
        event.type === "organisation.changed" ||
        event.type === "group.changed" ||
        event.type === "events.missed"
      ) {
        this.generation++;
        this.byGroup.clear();
        this.loading.clear();
      }
    });
  }

  /** Why the group's accounts do not work ('organisation', 'group'), or null when they do. */
  of(groupId: string): Promise<InactiveTenant> | InactiveTenant {
    const known = this.byGroup.get(groupId);
    if (known !== undefined) return known;
    let pending = this.loading.get(groupId);
    if (!pending) {
      const generation = this.generation;
      pending = tenancyStore.inactiveTenantOfGroup(this.db.knex, groupId).then((inactive) => {
        if (generation === this.generation) {
          if (this.byGroup.size >= 100_000) this.byGroup.clear();
          this.byGroup.set(groupId, inactive);
          this.loading.delete(groupId);
        }
        return inactive;
      });
      pending.catch(() => this.loading.delete(groupId));
      this.loading.set(groupId, pending);
    }
    return pending;
  }
}
