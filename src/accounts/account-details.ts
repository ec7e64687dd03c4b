import type { Actor } from "../audit/actor.js";
import type { AuditService } from "../audit/service.js";
import type { Database } from "../db/database.js";
import { accountView, profileView, statusChanges, statusReason } from "./views.js";
import { profileInEffect, visibleAccount } from "./visibility.js";

/** Sections of the account "refresh" that other capabilities fill. */
export interface DetailSections {
  registrations: Record<string, unknown>[];
  messages: Record<string, unknown>[];
  certificates: Record<string, unknown>[];
  license: Record<string, unknown> | null;
  /** The device the app was activated on (provisioning); null before the first activation. */
  device: Record<string, unknown> | null;
  /** The last activation attempts of the account's links, newest first (provisioning). */
  activationAttempts: Record<string, unknown>[];
  /** A SNOM phone's settings credential and its last fetches; null for other accounts. */
  snomProvisioning: Record<string, unknown> | null;
}
export type DetailSection = keyof DetailSections;
export type SectionLoader<K extends DetailSection> = (accountId: string) => Promise<DetailSections[K]>;

/** The account "refresh": everything an operator checks, in one view, with sections other capabilities add. */
export class AccountDetails {
  private readonly sections: { [K in DetailSection]?: SectionLoader<K> } = {};

  constructor(
    private readonly db: Database,
    private readonly audit: AuditService,
  ) {}

  /** Registers a section of the account "refresh" owned by another capability (registrations, license...). */
  addSection<K extends DetailSection>(name: K, load: SectionLoader<K>): void {
    (this.sections as Record<K, SectionLoader<K>>)[name] = load;
  }

  async get(actor: Actor, id: string) {
    const row = await visibleAccount(this.db.knex, actor.principal.scope, id);
    const profile = await profileInEffect(this.db.knex, row);
    const recentEvents = await this.audit.recent("account", id, 20);
    // The reason names the last status change, however many other events came after it.
    const [lastStatusChange] = await this.audit.recent("account", id, 1, statusChanges);
    const load = <K extends DetailSection>(name: K, empty: DetailSections[K]) =>
      this.sections[name]?.(id) ?? Promise.resolve(empty);
    const [registrations, messages, certificates, license, device, activationAttempts, snomProvisioning] =
      await Promise.all([
        load("registrations", []),
        load("messages", []),
        load("certificates", []),
        load("license", null),
        load("device", null),
        load("activationAttempts", []),
        load("snomProvisioning", null),
      ]);
    const sections: DetailSections = {
      registrations,
      messages,
      certificates,
      license,
      device,
      activationAttempts,
      snomProvisioning,
    };
    return {
      ...accountView(row),
      statusReason: statusReason(row, lastStatusChange ?? null),
      profile: profileView(profile),
      ...sections,
      recentEvents,
    };
  }
}
