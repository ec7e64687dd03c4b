import type { Actor } from "../audit/actor.js";
import type { AuditService } from "../audit/service.js";
import type { Clock } from "../clock.js";
import type { Database } from "../db/database.js";
import type { DomainEvents } from "../events.js";
import { AccountDetails, type DetailSection, type SectionLoader } from "./account-details.js";
import { AccountMoves } from "./account-moves.js";
import { Accounts } from "./accounts.js";
import { AccountActivations } from "./activations.js";
import { AccountCreation } from "./create-accounts.js";
import type { CredentialCipher } from "./credentials.js";
import { InactiveTenants } from "./inactive-tenants.js";
import { KeyHolders } from "./key-holders.js";
import { PhoneSettings } from "./phone-settings.js";
import type { Profiles } from "./profiles.js";
import {
  type GroupAccess,
  type LicenseContext,
  type MessagingContext,
  type SipSubscriber,
  Subscribers,
} from "./subscribers.js";

export type { DetailSection, DetailSections } from "./account-details.js";
export type { ActivationTarget } from "./activations.js";
export type { AccountDraft, ProvisioningCredentialIssuer } from "./create-accounts.js";
export type { KeyHolder } from "./key-holders.js";
export type { PhoneSettingsContext } from "./phone-settings.js";
export type { LicenseContext, MessagingContext, SipSubscriber } from "./subscribers.js";

/**
 * The accounts capability's one entry point for the composition root and other capabilities:
 * it composes the parts (profiles, accounts, creation, the account "refresh", what SIP and
 * licensing read), each in its file.
 */
export class AccountService {
  readonly accounts: Accounts;
  readonly creation: AccountCreation;
  readonly moves: AccountMoves;
  readonly details: AccountDetails;
  readonly profiles: Profiles;
  /** What the PKI reads and does to the accounts whose keys it certifies. */
  readonly keyHolders: KeyHolders;
  /** What PGSM activation (src/provisioning) reads and does to an account. */
  readonly activations: AccountActivations;
  /** What a desk phone's settings file is written from (SNOM provisioning), the clear password included. */
  readonly phoneSettings: PhoneSettings;
  private readonly subscribers: Subscribers;

  constructor(
    db: Database,
    clock: Clock,
    tenancy: GroupAccess,
    cipher: CredentialCipher,
    events: DomainEvents,
    parts: { audit: AuditService; profiles: Profiles },
  ) {
    this.accounts = new Accounts(db, clock, tenancy, cipher, events, parts.audit);
    this.moves = new AccountMoves(db, clock, tenancy, cipher, events, parts.audit);
    this.creation = new AccountCreation(db, clock, tenancy, cipher, parts.audit, events);
    this.details = new AccountDetails(db, parts.audit);
    const inactiveTenants = new InactiveTenants(db, events);
    this.subscribers = new Subscribers(db, tenancy, parts.audit, inactiveTenants);
    this.phoneSettings = new PhoneSettings(db, cipher, inactiveTenants);
    this.profiles = parts.profiles;
    this.keyHolders = new KeyHolders(clock, parts.audit);
    this.activations = new AccountActivations(clock, cipher, parts.audit);
  }

  /** Registers a section of the account "refresh" owned by another capability (registrations, license...). */
  addDetailSection<K extends DetailSection>(name: K, load: SectionLoader<K>): void {
    this.details.addSection(name, load);
  }

  /** The credentials the registrar and the license proxy check a client against; null for unknown or deleted. */
  findSipSubscriber(username: string, sipDomain: string): Promise<SipSubscriber | null> {
    return this.subscribers.findSipSubscriber(username, sipDomain);
  }

  /** The live accounts of an organisation, or of a group and its sub-groups. */
  accountIdsIn(where: { organisationId: string } | { groupId: string }): Promise<string[]> {
    return this.subscribers.accountIdsIn(where);
  }

  /** The digest algorithms of the profile serving a SIP domain (the registrar's realm). */
  realmOf(sipDomain: string): Promise<{ digestAlgorithms: Array<"MD5" | "SHA-256"> } | null> {
    return this.subscribers.realmOf(sipDomain);
  }

  /** The language of the announcements played to an account (its profile's); null for unknown. */
  announcementLanguage(accountId: string): ReturnType<Subscribers["announcementLanguage"]> {
    return this.subscribers.announcementLanguage(accountId);
  }

  /** What the license proxy needs to answer a client. */
  licenseContext(accountId: string): Promise<LicenseContext | null> {
    return this.subscribers.licenseContext(accountId);
  }

  /** An account as messaging writes to it; null for unknown or deleted. */
  messagingContext(accountId: string): Promise<MessagingContext | null> {
    return this.subscribers.messagingContext(accountId);
  }

  /** NotFound unless the actor may see the account. */
  assertAccountVisible(actor: Actor, accountId: string): Promise<void> {
    return this.subscribers.assertAccountVisible(actor, accountId);
  }

  /** Audits an action another capability took on an account, scoped like the account's own events. */
  recordAccountAction(
    actor: Actor,
    accountId: string,
    action: string,
    after: Record<string, unknown>,
  ): Promise<void> {
    return this.subscribers.recordAccountAction(actor, accountId, action, after);
  }

  /** For another capability's admin action on an account: NotFound when invisible, Forbidden for readers. */
  assertAccountWritable(actor: Actor, accountId: string): Promise<void> {
    return this.subscribers.assertAccountWritable(actor, accountId);
  }
}
