#!/usr/bin/env node
// The registrar's and license proxy's cold-path account lookup (a cache miss), since issue 11
// made it say why an inactive organisation or group stops an account: the account's row with
// `inactiveTenantSql` (a correlated recursive subquery over the groups above it), against the
// baseline in the same run, the bare row lookup it was before. 20,000 accounts 4 groups deep,
// among 5,000 other groups (every 50th inactive). Prints the median round trip through knex and
// the median execution time PostgreSQL reports (EXPLAIN ANALYZE), for both queries.
// Runs on PostgreSQL when DATABASE_URL is set (in a database of its own, dropped at the end),
// otherwise on an in-memory PGlite.
// Last line: `ratio <baseline round trip / round trip with the tenancy check>` (1 = free).
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = (path) => import(join(root, "dist", "src", path));
const { createPglite, openPglite, openPostgres } = await dist("db/database.js");
const { migrateLatest } = await dist("db/migrate.js");
const { accountsStore } = await dist("accounts/store.js");
const { inactiveTenantSql } = await dist("tenancy/store.js");
const tenancySql = inactiveTenantSql("accounts.group_id");

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
const variants = {
  "bare row (baseline, before issue 11)": (i) => accountsStore.findLiveAccount(knex, where(i)),
  "row with the tenancy check": (i) => accountsStore.findLiveAccountWithTenancy(knex, where(i)),
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

async function executionTime(find) {
  const times = [];
  for (let i = 0; i < 300; i++) {
    const { sql, bindings } = find(i).toSQL().toNative();
    const result = await knex.raw(`explain (analyze, format json) ${sql.replace(/\$\d+/g, "?")}`, bindings);
    const plan = (result.rows ?? result)[0]["QUERY PLAN"];
    times.push((typeof plan === "string" ? JSON.parse(plan) : plan)[0]["Execution Time"] * 1000);
  }
  return median(times);
}

// Warm both, then alternate so that load on the machine falls on both alike.
for (const find of Object.values(variants)) await roundTrips(find);
const results = Object.fromEntries(Object.keys(variants).map((name) => [name, { trips: [], exec: [] }]));
for (let round = 0; round < 3; round++) {
  for (const [name, find] of Object.entries(variants)) {
    results[name].trips.push(await roundTrips(find));
    results[name].exec.push(await executionTime((i) => knexQuery(name, i)));
  }
}
function knexQuery(name, i) {
  // The same SQL as the store functions, as a query builder EXPLAIN can wrap.
  const base = knex("accounts")
    .where({ "accounts.username": username(i), "accounts.sip_domain": "bench.example.net" })
    .whereNull("accounts.deleted_at")
    .limit(1);
  return name.startsWith("bare")
    ? base.select("accounts.*")
    : base.select("accounts.*", knex.raw(`${tenancySql} as inactive_tenant`));
}
await database.close();
await drop();

console.log(
  `database: ${adminUrl ? "PostgreSQL" : "PGlite"}, ${accounts} accounts 4 groups deep, 5,004 groups, ${lookups} lookups x 3 rounds`,
);
for (const [name, { trips, exec }] of Object.entries(results)) {
  console.log(
    `${name}: round trip ${median(trips).toFixed(0)} µs, execution ${median(exec).toFixed(0)} µs (median)`,
  );
}
const [baseline, tenancy] = Object.values(results).map((r) => median(r.trips));
console.log(`ratio ${(baseline / tenancy).toFixed(3)}`);
