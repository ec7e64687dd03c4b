import type { Knex } from "knex";

/**
 * SIP domains belong to one organisation, and inactive groups stop their subtree (issue 11). Existing installations get, for each
 * organisation, the domains its profiles use. A domain that profiles of several organisations
 * use goes to the organisation whose profile using it is the oldest; the profiles of the others
 * keep working as they are (no account is cut off by an upgrade), and each such clash is written
 * to the audit trail so the operator can see and settle it (docs/decisions.md, issue 11).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("organisation_sip_domains", (t) => {
    // Lower case, as profiles and accounts keep their sip_domain.
    t.text("sip_domain").primary();
    t.uuid("organisation_id").notNullable().references("organisations.id").onDelete("CASCADE");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(["organisation_id"]);
  });
  await knex.raw(`
    insert into organisation_sip_domains (sip_domain, organisation_id)
    select distinct on (lower(sip_domain)) lower(sip_domain), organisation_id
      from profiles
     order by lower(sip_domain), created_at, id`);
  await knex.raw(`
    insert into audit_events (actor_label, action, target_type, target_id, organisation_id, after)
    select 'migration 20261202000500_tenant_domains', 'organisation.sip_domain_contested', 'profile',
           p.id, p.organisation_id,
           jsonb_build_object('sipDomain', lower(p.sip_domain), 'assignedTo', d.organisation_id)
      from profiles p
      join organisation_sip_domains d on d.sip_domain = lower(p.sip_domain)
     where d.organisation_id <> p.organisation_id`);

  // Whether a group and every group above it are active, kept on each group so that the account
  // lookup of the registrar and license proxy is two joins, not a recursive query per lookup.
  await knex.schema.alterTable("groups", (t) => {
    t.boolean("tree_active").notNullable().defaultTo(true);
  });
  await knex.raw(`
    with recursive tree (id, ok) as (
      select id, active from groups where parent_id is null
      union all
      select g.id, tree.ok and g.active from groups g join tree on g.parent_id = tree.id)
    update groups set tree_active = tree.ok from tree where groups.id = tree.id and groups.tree_active <> tree.ok`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable("groups", (t) => {
    t.dropColumn("tree_active");
  });
  await knex("audit_events").where({ action: "organisation.sip_domain_contested" }).delete();
  await knex.schema.dropTable("organisation_sip_domains");
}
