import type { Knex } from "knex";
import { applyListing } from "../db/listing.js";
import { parseSort } from "../http/list.js";
import type { SubscriptionColumns } from "../subscriptions/account-subscription.js";
import type { Scope } from "../tenancy/roles.js";
import { groupSubtree, tenancyStore } from "../tenancy/store.js";
import type { ProfileSettings, SubscriptionFilter } from "./schemas.js";

export interface ProfileRow {
  id: string;
  organisation_id: string;
  name: string;
  sip_domain: string;
  server_host: string;
  settings: ProfileSettings;
  created_at: Date;
  updated_at: Date;
}

export interface AccountRow extends SubscriptionColumns {
  id: string;
  group_id: string;
  type: "PGSM" | "SNOM";
  mode: "manual" | "wizard" | "batch";
  status: "pending_activation" | "active" | "disabled";
  disabled_reason: string | null;
  activated_at: Date | null;
  username: string;
  sip_domain: string;
  profile_id: string | null;
  ha1_md5: string | null;
  ha1_sha256: string | null;
  password_encrypted: string | null;
  password_changed_at: Date | null;
  display_name: string | null;
  phone_number: string | null;
  mac_address: string | null;
  security_model: string;
  keep_alive_seconds: number | null;
  license_key: string | null;
  notes: string | null;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
}

export type NewAccountRow = Omit<
  AccountRow,
  | "created_at"
  | "updated_at"
  | "deleted_at"
  | Exclude<keyof SubscriptionColumns, "billing_plan" | "renews_on" | "due_soon">
>;

/** What the account list filters on, besides paging. */
export interface AccountFilters {
  q?: string | undefined;
  sort: string;
  status?: AccountRow["status"] | undefined;
  subscription?: SubscriptionFilter | undefined;
  billingPlan?: AccountRow["billing_plan"] | undefined;
  type?: AccountRow["type"] | undefined;
  groupId?: string | undefined;
  includeSubgroups?: boolean | undefined;
  organisationId?: string | undefined;
}

/** Accounts and profiles SQL; tenancy scope filters live here, on the group an account belongs to. */
export const accountsStore = {
  // Profiles

  visibleProfiles(db: Knex, scope: Scope): Knex.QueryBuilder {
    const query = db<ProfileRow>("profiles").select("profiles.*");
    if (scope.kind !== "all") query.where("profiles.organisation_id", scope.organisationId);
    return query;
  },

  async findVisibleProfile(
    db: Knex,
    scope: Scope,
    id: string,
    forUpdate = false,
  ): Promise<ProfileRow | undefined> {
    const q = accountsStore.visibleProfiles(db, scope).where("profiles.id", id);
    return (forUpdate ? q.forUpdate() : q).first();
  },

  profileList(
    db: Knex,
    scope: Scope,
    query: { q?: string | undefined; sort: string; organisationId?: string | undefined },
  ): Knex.QueryBuilder {
    const q = accountsStore.visibleProfiles(db, scope);
    if (query.organisationId) q.where("profiles.organisation_id", query.organisationId);
    return applyListing(q, {
      q: query.q,
      searchColumns: ["profiles.name", "profiles.sip_domain"],
      sort: parseSort(query.sort),
      sortColumns: {
        name: "profiles.name",
        sipDomain: "profiles.sip_domain",
        createdAt: "profiles.created_at",
      },
      tieBreaker: "profiles.id",
    });
  },

  async insertProfile(
    db: Knex,
    row: Omit<ProfileRow, "created_at" | "updated_at">,
    now: Date,
  ): Promise<ProfileRow> {
    const [inserted] = await db("profiles")
      .insert({ ...row, settings: JSON.stringify(row.settings), created_at: now, updated_at: now })
      .returning("*");
    return inserted as ProfileRow;
  },

  async updateProfile(
    db: Knex,
    id: string,
    changes: Partial<Pick<ProfileRow, "name" | "sip_domain" | "server_host" | "settings">>,
    now: Date,
  ): Promise<ProfileRow> {
    const { settings, ...rest } = changes;
    const [row] = await db("profiles")
      .where({ id })
      .update({ ...rest, ...(settings ? { settings: JSON.stringify(settings) } : {}), updated_at: now })
      .returning("*");
    return row as ProfileRow;
  },

  async deleteProfile(db: Knex, id: string): Promise<void> {
    await db("profiles").where({ id }).delete();
  },

  async profileUsage(db: Knex, id: string): Promise<{ groups: number; accounts: number }> {
    const [groups] = await db("groups").where({ default_profile_id: id }).count<{ n: string }[]>({ n: "*" });
    const [accounts] = await db("accounts")
      .where({ profile_id: id })
      .whereNull("deleted_at")
      .count<{ n: string }[]>({ n: "*" });
    return { groups: Number(groups?.n ?? 0), accounts: Number(accounts?.n ?? 0) };
  },

  async findProfile(db: Knex, id: string): Promise<ProfileRow | undefined> {
    return db<ProfileRow>("profiles").where({ id }).first();
  },

  /** The settings of the oldest profile naming a SIP domain (the realm's profile). */
  async profileSettingsOfDomain(db: Knex, sipDomain: string): Promise<ProfileRow["settings"] | undefined> {
    const row = await db<ProfileRow>("profiles")
      .where({ sip_domain: sipDomain })
      .orderBy([{ column: "created_at" }, { column: "id" }])
      .first("settings");
    if (!row) return undefined;
    // The JSON column comes back parsed from pg and as text from some drivers.
    return typeof row.settings === "string" ? JSON.parse(row.settings) : row.settings;
  },

  // Accounts

  visibleAccounts(db: Knex, scope: Scope): Knex.QueryBuilder {
    const query = db<AccountRow>("accounts").select("accounts.*").whereNull("accounts.deleted_at");
    if (scope.kind === "organisation") {
      query.whereIn(
        "accounts.group_id",
        db("groups").select("id").where("organisation_id", scope.organisationId),
      );
    }
    if (scope.kind === "group") query.whereIn("accounts.group_id", groupSubtree(db, scope.groupIds));
    return query;
  },

  async findVisibleAccount(
    db: Knex,
    scope: Scope,
    id: string,
    forUpdate = false,
  ): Promise<AccountRow | undefined> {
    const q = accountsStore.visibleAccounts(db, scope).where("accounts.id", id);
    return (forUpdate ? q.forUpdate() : q).first();
  },

  /** The accounts the scope sees that match a list's filters, searched and sorted. */
  accountList(db: Knex, scope: Scope, query: AccountFilters): Knex.QueryBuilder {
    const q = accountsStore.visibleAccounts(db, scope);
    if (query.status) q.where("accounts.status", query.status);
    if (query.subscription === "due_soon") q.where("accounts.due_soon", true);
    else if (query.subscription === "renewed_without_notice")
      q.where("accounts.renewed_without_notice", true);
    else if (query.subscription) q.where("accounts.subscription_state", query.subscription);
    if (query.billingPlan) q.where("accounts.billing_plan", query.billingPlan);
    if (query.type) q.where("accounts.type", query.type);
    if (query.groupId) {
      if (query.includeSubgroups) q.whereIn("accounts.group_id", groupSubtree(db, query.groupId));
      else q.where("accounts.group_id", query.groupId);
    }
    if (query.organisationId) {
      q.whereIn("accounts.group_id", tenancyStore.groupsOfOrganisation(db, query.organisationId));
    }
    if (query.q) applySearch(q, query.q);
    return applyListing(q, {
      searchColumns: [],
      sort: parseSort(query.sort),
      sortColumns: {
        username: "accounts.username",
        displayName: "accounts.display_name",
        phoneNumber: "accounts.phone_number",
        status: "accounts.status",
        createdAt: "accounts.created_at",
        renewsOn: "accounts.renews_on",
      },
      tieBreaker: "accounts.id",
      sortAfterFiltering: query.q !== undefined,
    });
  },

  /** The list's rows with their group's reference, for the CSV export. */
  accountExport(db: Knex, scope: Scope, query: AccountFilters): Knex.QueryBuilder {
    return accountsStore
      .accountList(db, scope, query)
      .leftJoin("groups as export_group", "export_group.id", "accounts.group_id")
      .select("export_group.reference as group_reference");
  },

  /** A live account with the server host and settings of its profile in effect, in one query. */
  async findLiveAccountWithProfile(
    db: Knex,
    id: string,
  ): Promise<(AccountRow & { profile_server_host: string; profile_settings: unknown }) | undefined> {
    return db("accounts as a")
      .join("groups as g", "g.id", "a.group_id")
      .join("profiles as p", function profileInEffect() {
        this.on("p.id", "=", db.raw("coalesce(a.profile_id, g.default_profile_id)"));
      })
      .where("a.id", id)
      .whereNull("a.deleted_at")
      .first("a.*", "p.server_host as profile_server_host", "p.settings as profile_settings");
  },

  async findLiveAccount(
    db: Knex,
    where: { id: string } | { username: string; sip_domain: string },
  ): Promise<AccountRow | undefined> {
    return db<AccountRow>("accounts").where(where).whereNull("deleted_at").first();
  },

  /** The live accounts of an organisation, or of a group and its sub-groups. */
  async liveAccountIdsIn(
    db: Knex,
    where: { organisationId: string } | { groupId: string },
  ): Promise<string[]> {
    const groups =
      "organisationId" in where
        ? tenancyStore.groupsOfOrganisation(db, where.organisationId)
        : groupSubtree(db, where.groupId);
    const rows = (await db("accounts")
      .whereIn("group_id", groups)
      .whereNull("deleted_at")
      .select("id")) as Array<{
      id: string;
    }>;
    return rows.map((row) => row.id);
  },

  async accountsRelyingOnGroupDefault(db: Knex, groupId: string): Promise<number> {
    const [row] = await db("accounts")
      .where({ group_id: groupId })
      .whereNull("profile_id")
      .whereNull("deleted_at")
      .count<{ n: string }[]>({ n: "*" });
    return Number(row?.n ?? 0);
  },

  async insertAccounts(db: Knex, rows: NewAccountRow[], now: Date): Promise<AccountRow[]> {
    const inserted: AccountRow[] = [];
    for (let i = 0; i < rows.length; i += 500) {
      const chunk = rows.slice(i, i + 500).map((row) => ({ ...row, created_at: now, updated_at: now }));
      inserted.push(...((await db("accounts").insert(chunk).returning("*")) as AccountRow[]));
    }
    return inserted;
  },

  async updateAccount(db: Knex, id: string, changes: Partial<AccountRow>, now: Date): Promise<AccountRow> {
    const [row] = await db("accounts")
      .where({ id })
      .update({ ...changes, updated_at: now })
      .returning("*");
    return row as AccountRow;
  },

  /** Which of these are taken by live accounts: usernames per domain, phone numbers, MACs. */
  async takenIdentifiers(
    db: Knex,
    wanted: {
      usernames: Array<[domain: string, username: string]>;
      phoneNumbers: string[];
      macAddresses: string[];
    },
    exceptAccountId?: string,
  ): Promise<{ usernames: Set<string>; phoneNumbers: Set<string>; macAddresses: Set<string> }> {
    const live = () => {
      const q = db("accounts").whereNull("deleted_at");
      if (exceptAccountId) q.whereNot("id", exceptAccountId);
      return q;
    };
    const usernames = new Set<string>();
    const phoneNumbers = new Set<string>();
    const macAddresses = new Set<string>();
    // Per domain, so the (sip_domain, username) index answers; a row-value IN list is not planned as well.
    const byDomain = new Map<string, string[]>();
    for (const [domain, username] of wanted.usernames) {
      const list = byDomain.get(domain) ?? [];
      list.push(username);
      byDomain.set(domain, list);
    }
    for (const [domain, names] of byDomain) {
      for (let i = 0; i < names.length; i += 1000) {
        const rows = (await live()
          .where("sip_domain", domain)
          .whereIn("username", names.slice(i, i + 1000))
          .select("username")) as Array<{ username: string }>;
        for (const row of rows) usernames.add(`${row.username}@${domain}`);
      }
    }
    for (let i = 0; i < wanted.phoneNumbers.length; i += 1000) {
      const rows = (await live()
        .whereIn("phone_number", wanted.phoneNumbers.slice(i, i + 1000))
        .select("phone_number")) as Array<{ phone_number: string }>;
      for (const row of rows) phoneNumbers.add(row.phone_number);
    }
    for (let i = 0; i < wanted.macAddresses.length; i += 1000) {
      const rows = (await live()
        .whereIn("mac_address", wanted.macAddresses.slice(i, i + 1000))
        .select("mac_address")) as Array<{ mac_address: string }>;
      for (const row of rows) macAddresses.add(row.mac_address);
    }
    return { usernames, phoneNumbers, macAddresses };
  },

  /** Sets each live account's sip_domain to that of its profile in effect; returns those that changed. */
  async refreshSipDomains(db: Knex, where: { profileId?: string; groupId?: string }): Promise<AccountRow[]> {
    const effective = db.raw(
      `(select p.sip_domain from profiles p
         where p.id = coalesce(accounts.profile_id, (select g.default_profile_id from groups g where g.id = accounts.group_id)))`,
    );
    const query = db("accounts")
      .whereNull("deleted_at")
      .whereRaw("sip_domain is distinct from ?", [effective]);
    if (where.profileId) {
      query.where((q) =>
        q
          .where("profile_id", where.profileId)
          .orWhere((q2) =>
            q2
              .whereNull("profile_id")
              .whereIn("group_id", db("groups").select("id").where("default_profile_id", where.profileId)),
          ),
      );
    }
    if (where.groupId) query.where("group_id", where.groupId).whereNull("profile_id");
    return (await query.update({ sip_domain: effective }).returning("*")) as AccountRow[];
  },
};

/**
 * Search that the indexes serve: prefixes of username, phone number (digits, with or without +)
 * and MAC (any notation), and word prefixes of the display name.
 */
function applySearch(query: Knex.QueryBuilder, q: string): void {
  const escaped = q.replace(/[\\%_]/g, (c) => `\\${c}`);
  // Numbers are stored in E.164: "+41 44", "0041 44" and "4144" all look for +4144...
  const digits = q.replace(/[\s()+-]/g, "").replace(/^00/, "");
  const hex = q.replace(/[:\-.\s]/g, "").toUpperCase();
  const words = q
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean)
    .map((word) => `${word}:*`)
    .join(" & ");
  query.where((where) => {
    where.orWhere("accounts.username", "like", `${escaped}%`);
    if (/^[0-9]+$/.test(digits)) where.orWhere("accounts.phone_number", "like", `+${digits}%`);
    if (/^[0-9A-F]{2,12}$/.test(hex)) where.orWhere("accounts.mac_address", "like", `${hex}%`);
    if (words) {
      where.orWhereRaw(
        "to_tsvector('simple', coalesce(accounts.display_name, '')) @@ to_tsquery('simple', ?)",
        [words],
      );
    }
  });
}
