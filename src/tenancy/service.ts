import type { Knex } from "knex";
import { AuditService } from "../audit/service.js";
import type { Clock } from "../clock.js";
import type { Database } from "../db/database.js";
import type { DomainEvents } from "../events.js";
import { ApiTokens, type IssuedToken } from "./api-tokens.js";
import { Authentication } from "./authentication.js";
import { groupForWrite } from "./authority.js";
import { Bootstrap } from "./bootstrap.js";
import { GroupMembers } from "./group-members.js";
import { type GroupProfilePolicy, Groups } from "./groups.js";
import { Organisations } from "./organisations.js";
import type { Principal, Role } from "./roles.js";
import { type GroupRow, type InactiveTenant, tenancyStore, type UserRow } from "./store.js";
import { Users } from "./users.js";

export type { Actor } from "../audit/actor.js";
export type { IssuedToken } from "./api-tokens.js";

/**
 * Tenancy's one entry point for the composition root and other capabilities: it composes the
 * parts (organisations, groups, users, API tokens, authentication, first start), each in its file.
 */
export class TenancyService {
  readonly organisations: Organisations;
  readonly groups: Groups;
  readonly users: Users;
  readonly groupMembers: GroupMembers;
  readonly tokens: ApiTokens;
  private readonly authentication: Authentication;
  private readonly bootstrap: Bootstrap;

  /** Without `groupProfiles` (the command line), groups refuse a defaultProfileId with a 400. */
  constructor(
    db: Database,
    clock: Clock,
    options: { audit?: AuditService; groupProfiles?: GroupProfilePolicy; events?: DomainEvents } = {},
  ) {
    const audit = options.audit ?? new AuditService(db, clock);
    this.organisations = new Organisations(db, clock, audit, options.events ?? null);
    this.groups = new Groups(db, clock, audit, options.groupProfiles ?? null, options.events ?? null);
    this.users = new Users(db, clock, audit);
    this.groupMembers = new GroupMembers(db, clock, audit);
    this.tokens = new ApiTokens(db, clock, audit);
    this.authentication = new Authentication(db, clock);
    this.bootstrap = new Bootstrap(db, clock, audit, this.tokens);
  }

  /**
   * On a database without users, creates the initial operator and a token for it.
   * Returns the token once, or null when users already exist.
   */
  bootstrapInitialOperator(): Promise<IssuedToken | null> {
    return this.bootstrap.bootstrapInitialOperator();
  }

  /** Issues a token from the command line (see Bootstrap.issueTokenFromCli). */
  issueTokenFromCli(options: {
    role: Role;
    email?: string;
    name?: string;
    expiresAt?: Date | null;
  }): Promise<IssuedToken> {
    return this.bootstrap.issueTokenFromCli(options);
  }

  /** Resolves a bearer token to its principal, or throws 401 without saying which check failed. */
  authenticate(bearer: string | undefined): Promise<Principal> {
    return this.authentication.authenticate(bearer);
  }

  /**
   * A group the actor may change things in (for another capability's write, such as an
   * account in it), read in the caller's transaction. Invisible and missing look the same.
   */
  groupForWrite(db: Knex, actor: Principal, id: string, path: string): Promise<GroupRow> {
    return groupForWrite(db, actor, id, path);
  }

  /** Whether an inactive organisation or group (this one or one above it) stops the group's accounts. */
  inactiveTenantOfGroup(db: Knex, groupId: string): Promise<InactiveTenant> {
    return tenancyStore.inactiveTenantOfGroup(db, groupId);
  }

  /**
   * The active users assigned to the group or to a group above it: who oversees its accounts
   * (the recipients of its renewal reminders, besides the organisation's company admins).
   */
  activeUsersAssignedToGroupOrAncestors(db: Knex, groupId: string): Promise<UserRow[]> {
    return tenancyStore.activeUsersAssignedToGroupOrAncestors(db, groupId);
  }

  /** The organisation a SIP domain is assigned to, if any. */
  sipDomainOwner(db: Knex, domain: string): Promise<string | undefined> {
    return tenancyStore.sipDomainOwner(db, domain);
  }
}
