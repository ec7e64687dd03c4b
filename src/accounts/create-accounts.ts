import type { Knex } from "knex";
import type { Actor } from "../audit/actor.js";
import type { AuditService } from "../audit/service.js";
import type { Clock } from "../clock.js";
import { uniqueConstraints, withConflicts } from "../db/constraints.js";
import type { Database } from "../db/database.js";
import { ConflictError, type FieldError, ForbiddenError, ValidationError } from "../errors.js";
import type { DomainEvents } from "../events.js";
import { ids } from "../ids.js";
import { dayOf } from "../subscriptions/periods.js";
import { choosePlan } from "../subscriptions/plan-choice.js";
import { type GroupRow, tenancyStore } from "../tenancy/store.js";
import { type CredentialCipher, generatePassword, generateUsername, ha1Columns } from "./credentials.js";
import type { ParsedImport } from "./csv-import.js";
import { assertGroupTakesAccounts } from "./group-activity.js";
import type { CreateAccountInput, ProvisioningCredential } from "./schemas.js";
import { type AccountRow, type NewAccountRow, type ProfileRow, accountsStore as store } from "./store.js";
import type { GroupAccess } from "./subscribers.js";
import { assertRealmOfOrganisation } from "./tenant-domains.js";
import { type Account, accountView } from "./views.js";
import { resolveProfile } from "./visibility.js";

interface AccountCredentials {
  username: string;
  password: string;
}

/** Accounts to create, as validated input; `path` prefixes field errors (body., rows[3].). */
export interface AccountDraft {
  path: string;
  /** The line of the import file the draft comes from. */
  line?: number;
  input: CreateAccountInput;
}

/** What an import created, with each password once: the credentials sheet. */
export interface ImportResult {
  created: number;
  accounts: Array<{
    line: number | null;
    id: string;
    groupId: string;
    type: AccountRow["type"];
    username: string;
    sipDomain: string;
    password: string;
    displayName: string | null;
    phoneNumber: string | null;
    macAddress: string | null;
    /** SNOM accounts: the settings credential, shown this once; null for PGSM. */
    provisioningCredential: ProvisioningCredential | null;
  }>;
}

/**
 * Makes the settings credential of new SNOM accounts in the creating transaction (contributed by
 * SNOM provisioning), so an account never exists without the credential its answer showed.
 */
export type ProvisioningCredentialIssuer = (
  trx: Knex.Transaction,
  actor: Actor,
  accounts: readonly AccountRow[],
) => Promise<Map<string, ProvisioningCredential>>;

/** Errors of a file in the order of its lines (`rows[N]`), whatever check found them. */
function byLine(errors: FieldError[]): FieldError[] {
  const lineOf = (path: string) => Number(/^rows\[(\d+)\]/.exec(path)?.[1] ?? 0);
  return errors
    .map((error, index) => ({ error, index }))
    .sort((a, b) => lineOf(a.error.path) - lineOf(b.error.path) || a.index - b.index)
    .map(({ error }) => error);
}

/**
 * Creating accounts, one or a batch (the CSV import): checks of each draft, clashes inside the
 * request and with live accounts, free random usernames, then one insert and its audit events.
 */
export class AccountCreation {
  private credentialIssuer: ProvisioningCredentialIssuer | null = null;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly tenancy: GroupAccess,
    private readonly cipher: CredentialCipher,
    private readonly audit: AuditService,
    private readonly events: DomainEvents,
  ) {}

  /** Registers what makes the settings credential of each new SNOM account. */
  issueProvisioningCredentialsWith(issuer: ProvisioningCredentialIssuer): void {
    this.credentialIssuer = issuer;
  }

  async createOne(
    actor: Actor,
    input: CreateAccountInput,
  ): Promise<Account & { password: string; provisioningCredential?: ProvisioningCredential }> {
    const [created] = await this.create(actor, [{ path: "body", input }], input.mode, "single");
    if (!created) throw new Error("no account created");
    return {
      ...accountView(created.row),
      password: created.password,
      ...(created.provisioningCredential ? { provisioningCredential: created.provisioningCredential } : {}),
    };
  }

  /**
   * Creates the accounts of an import file, all or none. One pass reports every problem: the rows
   * that did not read, groups named by a reference that fits no group or several, and then the
   * checks of creation (clashes with live accounts and within the file included).
   */
  async import(actor: Actor, parsed: ParsedImport): Promise<ImportResult> {
    const errors = [...parsed.errors];
    const references = [
      ...new Set(parsed.rows.flatMap((r) => (r.input.groupReference ? [r.input.groupReference] : []))),
    ];
    const byReference = new Map<string, GroupRow[]>();
    for (const group of await tenancyStore.findVisibleGroupsByReference(
      this.db.knex,
      actor.principal.scope,
      references,
    )) {
      const reference = group.reference as string;
      byReference.set(reference, [...(byReference.get(reference) ?? []), group]);
    }
    const drafts: AccountDraft[] = [];
    for (const { path, line, input } of parsed.rows) {
      const { groupReference, ...fields } = input;
      let groupId = fields.groupId;
      if (groupReference) {
        const matches = byReference.get(groupReference) ?? [];
        const fail = (message: string) => errors.push({ path: `${path}.groupReference`, message });
        if (matches.length === 0) fail("no group has this reference");
        else if (matches.length > 1)
          fail(`${matches.length} groups have this reference: name the group by groupId`);
        else if (groupId && matches[0]?.id !== groupId) fail("names another group than groupId");
        else groupId = matches[0]?.id;
        if (groupId === undefined || matches.length !== 1) continue;
      }
      drafts.push({ path, line, input: { ...fields, groupId: groupId as string, mode: "manual" } });
    }
    const created = await this.create(actor, drafts, "batch", "import", errors);
    return {
      created: created.length,
      accounts: created.map(({ row, password, draft, provisioningCredential }) => ({
        line: draft.line ?? null,
        id: row.id,
        groupId: row.group_id,
        type: row.type,
        username: row.username,
        sipDomain: row.sip_domain,
        password,
        displayName: row.display_name,
        phoneNumber: row.phone_number,
        macAddress: row.mac_address,
        provisioningCredential: provisioningCredential ?? null,
      })),
    };
  }

  private async create(
    actor: Actor,
    drafts: AccountDraft[],
    mode: AccountRow["mode"],
    kind: "single" | "import",
    earlierErrors: FieldError[] = [],
  ): Promise<
    Array<{
      row: AccountRow;
      password: string;
      draft: AccountDraft;
      provisioningCredential: ProvisioningCredential | undefined;
    }>
  > {
    const created = await this.db.knex.transaction(async (trx) => {
      const now = this.clock.now();
      const today = dayOf(now);
      const errors: FieldError[] = [...earlierErrors];
      const groups = new Map<string, GroupRow | null>();
      const profiles = new Map<string, ProfileRow | null>();
      const prepared: Array<{ draft: AccountDraft; row: NewAccountRow; credentials: AccountCredentials }> =
        [];

      for (const draft of drafts) {
        const { input, path } = draft;
        const fail = (field: string, message: string) => errors.push({ path: `${path}.${field}`, message });
        let group = groups.get(input.groupId);
        if (group === undefined) {
          try {
            group = await this.tenancy.groupForWrite(trx, actor.principal, input.groupId, `${path}.groupId`);
          } catch (error) {
            if (error instanceof ValidationError) group = null;
            else throw error;
          }
          if (group) await assertGroupTakesAccounts(this.tenancy, trx, group.id, `${path}.groupId`);
          groups.set(input.groupId, group);
        }
        if (!group) {
          fail("groupId", "no such group");
          continue;
        }
        const accountMode = mode === "batch" ? "batch" : input.mode;
        if (input.type === "SNOM" && accountMode === "wizard")
          fail("mode", "SNOM accounts are created manually");
        if (input.type === "SNOM" && !input.macAddress) fail("macAddress", "required for a SNOM account");
        if (input.type === "PGSM" && input.macAddress)
          fail("macAddress", "only SNOM accounts have a MAC address");
        if (accountMode === "wizard" && !input.phoneNumber) {
          fail("phoneNumber", "required for automatic activation (wizard)");
        }
        const profileKey = input.profileId ?? `group:${group.id}`;
        let profile = profiles.get(profileKey);
        if (profile === undefined) {
          try {
            profile = await resolveProfile(
              trx,
              actor.principal.scope,
              group,
              input.profileId ?? null,
              `${path}.profileId`,
            );
          } catch (error) {
            if (!(error instanceof ValidationError)) throw error;
            errors.push(...error.errors);
            profile = null;
          }
          if (profile) {
            await assertRealmOfOrganisation(trx, profile, group.organisation_id, `${path}.profileId`);
          }
          profiles.set(profileKey, profile);
        } else if (profile === null) {
          fail("profileId", "no profile in effect");
        }
        if (!profile) continue;
        const planInput = { billingPlan: input.billingPlan, renewsOn: input.renewsOn };
        if (actor.principal.role !== "operator" && (planInput.billingPlan || planInput.renewsOn)) {
          // An export edited by a portal user imports again: its plan columns are the operator's, read-only here.
          if (kind === "import") planInput.billingPlan = planInput.renewsOn = undefined;
          else throw new ForbiddenError("only an operator sets billingPlan and renewsOn");
        }
        const plan = choosePlan(null, planInput, profile.settings.billingPlan, today, path);
        if (Array.isArray(plan)) {
          errors.push(...plan);
          continue;
        }

        const id = ids.uuid();
        const password = input.password ?? generatePassword();
        const username = input.username ?? "";
        const activated = accountMode !== "wizard";
        prepared.push({
          draft,
          credentials: { username, password },
          row: {
            id,
            group_id: group.id,
            type: input.type,
            mode: accountMode,
            status: activated ? "active" : "pending_activation",
            disabled_reason: null,
            activated_at: activated ? now : null,
            username,
            sip_domain: profile.sip_domain,
            profile_id: input.profileId ?? null,
            ha1_md5: null,
            ha1_sha256: null,
            password_encrypted: this.cipher.encrypt(password, id),
            password_changed_at: now,
            display_name: input.displayName ?? null,
            phone_number: input.phoneNumber ?? null,
            mac_address: input.macAddress ?? null,
            security_model: input.securityModel,
            keep_alive_seconds: input.keepAliveSeconds ?? null,
            license_key: input.licenseKey ?? null,
            notes: input.notes ?? null,
            ...plan,
          },
        });
      }

      // Duplicates inside the request, then against live accounts.
      const seen = {
        usernames: new Map<string, string>(),
        phones: new Map<string, string>(),
        macs: new Map<string, string>(),
      };
      for (const { draft, row } of prepared) {
        const once = (map: Map<string, string>, key: string | null, field: string, what: string) => {
          if (!key) return;
          const first = map.get(key);
          if (first) errors.push({ path: `${draft.path}.${field}`, message: `${what} repeats ${first}` });
          else map.set(key, `${draft.path}.${field}`);
        };
        if (row.username) once(seen.usernames, `${row.username}@${row.sip_domain}`, "username", "username");
        once(seen.phones, row.phone_number, "phoneNumber", "phone number");
        once(seen.macs, row.mac_address, "macAddress", "MAC address");
      }
      const taken = await store.takenIdentifiers(trx, {
        usernames: prepared.filter((p) => p.row.username).map((p) => [p.row.sip_domain, p.row.username]),
        phoneNumbers: prepared.flatMap((p) => (p.row.phone_number ? [p.row.phone_number] : [])),
        macAddresses: prepared.flatMap((p) => (p.row.mac_address ? [p.row.mac_address] : [])),
      });
      const conflicts: FieldError[] = [];
      for (const { draft, row } of prepared) {
        if (row.username && taken.usernames.has(`${row.username}@${row.sip_domain}`)) {
          conflicts.push({
            path: `${draft.path}.username`,
            message: uniqueConstraints.accounts_username_unique,
          });
        }
        if (row.phone_number && taken.phoneNumbers.has(row.phone_number)) {
          conflicts.push({
            path: `${draft.path}.phoneNumber`,
            message: uniqueConstraints.accounts_phone_unique,
          });
        }
        if (row.mac_address && taken.macAddresses.has(row.mac_address)) {
          conflicts.push({
            path: `${draft.path}.macAddress`,
            message: uniqueConstraints.accounts_mac_unique,
          });
        }
      }
      if (errors.length > 0 || (kind === "import" && conflicts.length > 0)) {
        throw new ValidationError(byLine([...errors, ...conflicts]));
      }
      if (conflicts.length > 0)
        throw new ConflictError(conflicts.map((c) => `${c.path}: ${c.message}`).join("; "), conflicts);

      await this.assignRandomUsernames(
        trx,
        prepared.map((p) => p.row),
      );
      for (const p of prepared) {
        p.credentials.username = p.row.username;
        Object.assign(p.row, ha1Columns(p.row.username, p.row.sip_domain, p.credentials.password));
      }
      const rows = await withConflicts(() =>
        store.insertAccounts(
          trx,
          prepared.map((p) => p.row),
          now,
        ),
      );
      const byId = new Map(rows.map((row) => [row.id, row]));
      const organisationOf = new Map(
        [...groups.values()].flatMap((g) => (g ? [[g.id, g.organisation_id]] : [])),
      );
      await this.audit.record(
        trx,
        actor,
        ...rows.map((row) => ({
          action: "account.created",
          targetType: "account",
          targetId: row.id,
          organisationId: organisationOf.get(row.group_id) ?? null,
          groupId: row.group_id,
          after: accountView(row),
        })),
      );
      const snomRows = rows.filter((row) => row.type === "SNOM");
      const issued =
        this.credentialIssuer && snomRows.length > 0
          ? await this.credentialIssuer(trx, actor, snomRows)
          : new Map<string, ProvisioningCredential>();
      return prepared.map((p) => ({
        row: byId.get(p.row.id) as AccountRow,
        password: p.credentials.password,
        draft: p.draft,
        provisioningCredential: issued.get(p.row.id),
      }));
    });
    // The registrar remembers names that were no account: these are now.
    await this.events.publish(
      created.map(({ row }) => ({
        type: "account.created" as const,
        accountId: row.id,
        username: row.username,
        sipDomain: row.sip_domain,
      })),
    );
    return created;
  }

  /** Random numeric usernames for the rows without one, free in their domain and in this batch. */
  private async assignRandomUsernames(db: Knex, rows: NewAccountRow[]): Promise<void> {
    const missing = rows.filter((row) => !row.username);
    const inBatch = new Set(rows.filter((r) => r.username).map((r) => `${r.username}@${r.sip_domain}`));
    for (let attempt = 0; missing.some((row) => !row.username) && attempt < 10; attempt++) {
      const candidates = missing
        .filter((row) => !row.username)
        .map((row) => {
          let name = generateUsername();
          while (inBatch.has(`${name}@${row.sip_domain}`)) name = generateUsername();
          return { row, name };
        });
      const taken = await store.takenIdentifiers(db, {
        usernames: candidates.map((c) => [c.row.sip_domain, c.name]),
        phoneNumbers: [],
        macAddresses: [],
      });
      for (const { row, name } of candidates) {
        const key = `${name}@${row.sip_domain}`;
        if (taken.usernames.has(key) || inBatch.has(key)) continue;
        row.username = name;
        inBatch.add(key);
      }
    }
    if (missing.some((row) => !row.username))
      throw new ConflictError("could not find a free username; give one");
  }
}
