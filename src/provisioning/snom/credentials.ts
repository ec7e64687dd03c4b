import { randomInt } from "node:crypto";
import type { Knex } from "knex";
import { generatePassword, ha1Columns } from "../../accounts/credentials.js";
import type { ProvisioningCredential } from "../../accounts/schemas.js";
import type { Actor } from "../../audit/actor.js";
import type { AuditService } from "../../audit/service.js";
import type { Clock } from "../../clock.js";
import type { Database } from "../../db/database.js";
import { NotFoundError, UnprocessableError } from "../../errors.js";
import { ids } from "../../ids.js";
import {
  type CredentialOfPhone,
  type CredentialOwner,
  type SnomCredentialRow,
  snomStore as store,
} from "./store.js";

/** What the credential's admin route needs of the accounts capability. */
export interface CredentialAccounts {
  assertAccountWritable(actor: Actor, accountId: string): Promise<void>;
}

export interface CredentialSettings {
  realm: string;
  graceSeconds: number;
}

/** A credential's state as account details show it: never a secret or an HA1. */
export interface CredentialState {
  username: string;
  createdAt: string;
  /** When this credential replaced an earlier one; null for the first. */
  rotatedAt: string | null;
  /** The credential it replaced, while it still opens the settings file. */
  previous: { username: string; validUntil: string } | null;
}

// Lower-case letters and digits without look-alikes: the username is typed into a phone's web page.
const usernameAlphabet = "abcdefghjkmnpqrstuvwxyz23456789";
const usernameLength = 10;

/** A credential username: `snom-` and ten random characters, unique by its randomness (and a unique index). */
function generateCredentialUsername(): string {
  let name = "snom-";
  for (let i = 0; i < usernameLength; i++) name += usernameAlphabet[randomInt(usernameAlphabet.length)];
  return name;
}

/**
 * The per-device settings credential of SNOM accounts: made with the account, rotated on request
 * (the previous one keeps working for a grace period), stored as HA1s under the configured realm.
 * Its username is its own, not the SIP username, and every rotation makes a new one, so the
 * digest lookup finds exactly one HA1 pair per username, previous credential or current.
 */
export class ProvisioningCredentials {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    private readonly accounts: CredentialAccounts,
    private readonly settings: CredentialSettings,
  ) {}

  /** Credentials for new SNOM accounts, in the creating transaction (AccountCreation's issuer). */
  async issue(
    trx: Knex.Transaction,
    actor: Actor,
    accounts: ReadonlyArray<{ id: string }>,
  ): Promise<Map<string, ProvisioningCredential>> {
    const owners = await store.owners(
      trx,
      accounts.map((a) => a.id),
    );
    return this.make(trx, actor, owners, "account.provisioning_credential_created");
  }

  /** POST /accounts/{id}/provisioning-credential: a new credential; the one it replaces has its grace period. */
  async rotate(
    actor: Actor,
    accountId: string,
  ): Promise<ProvisioningCredential & { previousValidUntil: string | null }> {
    await this.accounts.assertAccountWritable(actor, accountId);
    return this.db.knex.transaction(async (trx) => {
      const owner = await store.lockOwner(trx, accountId);
      if (!owner) throw new NotFoundError("no such account");
      if (owner.type !== "SNOM") {
        throw new UnprocessableError("only SNOM accounts have a provisioning credential");
      }
      const now = this.clock.now();
      const hadOne = (await store.credentialsOf(trx, accountId)).some((row) => row.superseded_at === null);
      await store.supersede(trx, accountId, now);
      const made = await this.make(
        trx,
        actor,
        [owner],
        hadOne ? "account.provisioning_credential_rotated" : "account.provisioning_credential_created",
      );
      const credential = made.get(accountId) as ProvisioningCredential;
      return {
        ...credential,
        previousValidUntil: hadOne ? this.graceEnd(now).toISOString() : null,
      };
    });
  }

  /** Whether a credential opens a settings file now: the current one, or the previous within its grace. */
  isValid(row: Pick<SnomCredentialRow, "superseded_at">): boolean {
    return row.superseded_at === null || this.clock.now() < this.graceEnd(row.superseded_at);
  }

  /** The credential a digest username names, with its phone; undefined when there is none. */
  find(username: string): Promise<CredentialOfPhone | undefined> {
    return store.findCredential(this.db.knex, username);
  }

  /** The credential's state for the account details; null when the account has none. */
  async state(accountId: string): Promise<CredentialState | null> {
    const rows = await store.credentialsOf(this.db.knex, accountId);
    const current = rows.find((row) => row.superseded_at === null);
    if (!current) return null;
    const previous = rows.find((row) => row.superseded_at !== null && this.isValid(row));
    // The current credential replaced the newest superseded one at the moment it was made.
    const replaced = rows.some((row) => row.superseded_at !== null);
    return {
      username: current.username,
      createdAt: current.created_at.toISOString(),
      rotatedAt: replaced ? current.created_at.toISOString() : null,
      previous:
        previous?.superseded_at != null
          ? { username: previous.username, validUntil: this.graceEnd(previous.superseded_at).toISOString() }
          : null,
    };
  }

  private graceEnd(supersededAt: Date): Date {
    return new Date(supersededAt.getTime() + this.settings.graceSeconds * 1000);
  }

  private async make(
    trx: Knex.Transaction,
    actor: Actor,
    owners: readonly CredentialOwner[],
    action: string,
  ): Promise<Map<string, ProvisioningCredential>> {
    const now = this.clock.now();
    const shown = new Map<string, ProvisioningCredential>();
    const rows: SnomCredentialRow[] = owners.map((owner) => {
      const username = generateCredentialUsername();
      const password = generatePassword();
      shown.set(owner.id, {
        username,
        password,
        realm: this.settings.realm,
        createdAt: now.toISOString(),
      });
      return {
        id: ids.uuid(),
        account_id: owner.id,
        username,
        ...ha1Columns(username, this.settings.realm, password),
        created_at: now,
        superseded_at: null,
      };
    });
    await store.insertCredentials(trx, rows);
    await this.audit.record(
      trx,
      actor,
      ...owners.map((owner) => ({
        action,
        targetType: "account",
        targetId: owner.id,
        organisationId: owner.organisation_id,
        groupId: owner.group_id,
        after: {
          provisioningCredential: { username: shown.get(owner.id)?.username, createdAt: now.toISOString() },
        },
      })),
    );
    return shown;
  }
}
