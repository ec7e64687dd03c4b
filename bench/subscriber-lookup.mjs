#!/usr/bin/env node
// The registrar's and license proxy's cold-path account lookup (a cache miss), since issue 11
// made it say why an inactive organisation or group stops an account: the account's row, then
// its group's standing from `InactiveTenants` (read once per group, kept until an organisation or
// group changes), against the baseline in the same run, the bare row lookup it was before. Also
// the standing read alone, uncached (`inactiveTenantOfGroup`: the group's `tree_active` joined to
// its organisation), what each group costs once after a change. 20,000 accounts 4 groups deep,
// among 5,000 other groups (every 50th inactive). Prints the median round trip through knex and
// the median execution time PostgreSQL reports (EXPLAIN ANALYZE), for both queries.
// Runs on PostgreSQL when DATABASE_URL is set (in a database of its own, dropped at the end),
// otherwise on an in-memory PGlite.
// Last line: `ratio <baseline round trip / round trip of the lookup as the server does it>` (1 = free).
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = (path) => import(join(root, "dist", "src", path));
const { createPglite, openPglite, openPostgres } = await dist("db/database.js");
const { migrateLatest } = await dist("db/migrate.js");
const { accountsStore } = await dist("accounts/store.js");
const { tenancyStore } = await dist("tenancy/store.js");
const { InactiveTenants } = await dist("accounts/inactive-tenants.js");
const { DomainEvents } = await dist("events.js");
const { createLogger } = await dist("logger.js");

const lookups = Number(process.env.BENCH_LOOKUPS ?? 3000);
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const adminUrl = process.env.DATABASE_URL || null;
let database;
let drop = async () => {};
if (adminUrl) {
  const name = `provisiond_bench_lookup_${process.pid}`;
  const admin = openPostgres(adminUrl, 1);
  await admin.knex.raw(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  database = openPostgres(url.toString(), 1);
  drop = async () => {
    await admin.knex.raw(`drop database if exists ${name} with (force)`);
    await admin.close();
  };
} else {
  database = await openPglite(createPglite(), "memory");
}
const knex = database.knex;
await migrateLatest(knex);

const organisationId = "00000000-0000-4000-8000-000000000001";
await knex("organisations").insert({ id: organisationId, name: "Bench" });
await knex("profiles").insert({
  id: "00000000-0000-4000-8000-000000000002",
  organisation_id: organisationId,
  name: "Bench",
  sip_domain: "bench.example.net",
  server_host: "sip.example.net",
  settings: "{}",
});
let parentId = null;
for (let depth = 0; depth < 4; depth++) {
  const id = `00000000-0000-4000-8000-1000000000${depth}0`;
  await knex("groups").insert({
    id,
    organisation_id: organisationId,
    parent_id: parentId,
    name: `Level ${depth}`,
  });
  parentId = id;
}
const others = Array.from({ length: 5000 }, (_, i) => ({
  organisation_id: organisationId,
  name: `Other ${i}`,
  active: i % 50 !== 0,
}));
for (let i = 0; i < others.length; i += 1000) await knex("groups").insert(others.slice(i, i + 1000));
const accounts = 20_000;
const rows = Array.from({ length: accounts }, (_, i) => ({
  group_id: parentId,
  type: "PGSM",
  mode: "manual",
  status: "active",
  username: String(100000 + i),
  sip_domain: "bench.example.net",
}));
for (let i = 0; i < rows.length; i += 1000) await knex("accounts").insert(rows.slice(i, i + 1000));
await knex.raw("analyze");

const username = (i) => String(100000 + ((i * 7919) % accounts));
const where = (i) => ({ username: username(i), sip_domain: "bench.example.net" });
const inactiveTenants = new InactiveTenants(database, new DomainEvents(createLogger("silent")));
const variants = {
  "bare row (baseline, before issue 11)": (i) => accountsStore.findLiveAccount(knex, where(i)),
  "row, then the group's standing (cached)": async (i) => {
    const row = await accountsStore.findLiveAccount(knex, where(i));
    return row && { ...row, inactive: await inactiveTenants.of(row.group_id) };
  },
  "the group's standing alone, uncached": (i) =>
    tenancyStore.inactiveTenantOfGroup(knex, parentId).then(() => i + 1),
};

async function roundTrips(find) {
  const times = [];
  for (let i = 0; i < lookups; i++) {
    const started = process.hrtime.bigint();
    const row = await find(i);
    times.push(Number(process.hrtime.bigint() - started) / 1000);
    if (!row) throw new Error("lookup found nothing");
  }
  return median(times);
}

/** What PostgreSQL reports for one statement: planning plus execution, median over 300. */
async function serverTime(query) {
  const times = [];
  for (let i = 0; i < 300; i++) {
    const { sql, bindings } = query(i).toSQL().toNative();
    const result = await knex.raw(`explain (analyze, format json) ${sql.replace(/\$\d+/g, "?")}`, bindings);
    const plan = (result.rows ?? result)[0]["QUERY PLAN"];
    const parsed = (typeof plan === "string" ? JSON.parse(plan) : plan)[0];
    times.push((parsed["Planning Time"] + parsed["Execution Time"]) * 1000);
  }
  return median(times);
}
const statements = {
  "bare row (baseline, before issue 11)": (i) =>
    knex("accounts").where(where(i)).whereNull("deleted_at").first(),
  "the group's standing alone, uncached": () =>
    knex("groups as g")
      .join("organisations as o", "o.id", "g.organisation_id")
      .where("g.id", parentId)
      .first(knex.raw("case when not o.active then 'organisation' when not g.tree_active then 'group' end")),
};

// Warm each, then alternate so that load on the machine falls on all alike.
for (const find of Object.values(variants)) await roundTrips(find);
const results = Object.fromEntries(Object.keys(variants).map((name) => [name, { trips: [], server: [] }]));
for (let round = 0; round < 3; round++) {
  for (const [name, find] of Object.entries(variants)) {
    results[name].trips.push(await roundTrips(find));
    if (statements[name]) results[name].server.push(await serverTime(statements[name]));
  }
}
await database.close();
await drop();

console.log(
  `database: ${adminUrl ? "PostgreSQL" : "PGlite"}, ${accounts} accounts 4 groups deep, 5,004 groups, ${lookups} lookups x 3 rounds`,
);
for (const [name, { trips, server }] of Object.entries(results)) {
  const planned = server.length > 0 ? `, planning + execution ${median(server).toFixed(0)} µs` : "";
  console.log(`${name}: round trip ${median(trips).toFixed(0)} µs${planned} (median)`);
}
const [baseline, withStanding] = Object.values(results).map((r) => median(r.trips));
console.log(`ratio ${(baseline / withStanding).toFixed(3)}`);
