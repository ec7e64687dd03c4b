#!/usr/bin/env node
// Accounts at scale: the time to import 10,000 accounts through POST /accounts/import, then,
// with 100,000 accounts in the database, to list, search and export them through the API.
// Baselines in the same run: the same rows inserted by one bare multi-row INSERT per 500 rows
// into a copy of the accounts table (same indexes, no validation, hashing, encryption or audit),
// and the very SQL each API call ran, sent straight to the database.
// Runs on PostgreSQL when DATABASE_URL is set (in a database of its own, dropped at the end),
// otherwise on PGlite in a temporary directory. Prints the search query plans.
// Last line: `ratio <geometric mean over list/search/export of SQL-alone time / API time>`.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = (path) => import(join(root, "dist", "src", path));
const { loadConfig } = await dist("config/load.js");
const { openDatabase, openPostgres } = await dist("db/database.js");
const { startServer } = await dist("main.js");
const { createLogger } = await dist("logger.js");

const total = Number(process.env.BENCH_ACCOUNTS ?? 100_000);
const batch = 10_000;
const repeats = Number(process.env.BENCH_REPEATS ?? 15);
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

// A database of its own.
const adminUrl = process.env.DATABASE_URL || null;
let dataDir = null;
let dropDatabase = async () => {};
let database;
if (adminUrl) {
  const name = `provisiond_bench_${process.pid}`;
  const admin = openPostgres(adminUrl, 1);
  await admin.knex.raw(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  database = openPostgres(url.toString(), 10);
  dropDatabase = async () => {
    await admin.knex.raw(`drop database if exists ${name}`);
    await admin.close();
  };
} else {
  dataDir = mkdtempSync(join(tmpdir(), "provisiond-bench-accounts-"));
  database = await openDatabase({ url: null, dataDir, poolMax: 1 });
}

const config = loadConfig({
  env: { NODE_ENV: "production" },
  overrides: {
    http: { host: "127.0.0.1", port: 0, authFailureLimit: 100_000, importLimitBytes: 100 * 1024 * 1024 },
    log: { level: "silent" },
    // Only the HTTP API is measured; the production SIP listeners would bind all interfaces.
    sip: { enabled: false },
    secrets: { credentialKey: "62656e6368000000000000000000000000000000000000000000000000000001" },
    database: { dataDir: dataDir ?? tmpdir() },
  },
});
let token;
const server = await startServer({
  config,
  logger: createLogger("silent"),
  database,
  onInitialToken: (issued) => {
    token = issued.token;
  },
});
const knex = database.knex;

async function api(method, path, body, contentType = "application/json") {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": contentType } : {}) },
    ...(body ? { body: contentType === "application/json" ? JSON.stringify(body) : body } : {}),
  });
  const text = await response.text();
  if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 500)}`);
  return text;
}
const json = async (...args) => JSON.parse(await api(...args));

try {
  console.log(
    `database: ${database.kind}; ${total.toLocaleString("en")} accounts, imports of ${batch.toLocaleString("en")}`,
  );
  const org = await json("POST", "/api/v1/organisations", { name: "Bench Org" });
  const profile = await json("POST", "/api/v1/profiles", {
    organisationId: org.id,
    name: "Bench",
    sipDomain: "bench.example.net",
    serverHost: "sip.bench.example.net",
  });
  const groups = [];
  for (let g = 0; g < 10; g++) {
    groups.push(
      await json("POST", "/api/v1/groups", {
        organisationId: org.id,
        name: `Team ${g}`,
        defaultProfileId: profile.id,
      }),
    );
  }
  const firstNames = ["Anna", "Bruno", "Carla", "David", "Elena", "Felix", "Greta", "Hugo", "Ines", "Jonas"];
  const lastNames = [
    "Muster",
    "Beispiel",
    "Rossi",
    "Dupont",
    "Schmid",
    "Keller",
    "Weber",
    "Meier",
    "Huber",
    "Frei",
  ];
  const csvFor = (offset) => {
    const lines = ["groupId,type,username,displayName,phoneNumber"];
    for (let i = offset; i < offset + batch; i++) {
      const group = groups[i % groups.length].id;
      const name = `${firstNames[i % 10]} ${lastNames[Math.floor(i / 10) % 10]} ${i}`;
      lines.push(`${group},PGSM,${41_000_000 + i},${name},+4179${String(1_000_000 + i).padStart(7, "0")}`);
    }
    return `${lines.join("\n")}\n`;
  };

  // Import: through the API, and the bare insert of the same number of rows.
  // The bare baseline goes into an empty copy of the table right after the first import, so
  // both insert 10,000 rows into an empty table with the same indexes.
  const bareInsert = async () => {
    const template = await knex("accounts").first();
    await knex.raw("create table bench_bare (like accounts including all)");
    const bareRows = Array.from({ length: batch }, (_, i) => ({
      ...template,
      id: crypto.randomUUID(),
      username: String(50_000_000 + i),
      phone_number: `+4178${String(1_000_000 + i).padStart(7, "0")}`,
      display_name: `Bare ${i}`,
    }));
    const began = performance.now();
    await knex.transaction(async (trx) => {
      for (let i = 0; i < bareRows.length; i += 500)
        await trx("bench_bare").insert(bareRows.slice(i, i + 500));
    });
    const elapsed = performance.now() - began;
    await knex.raw("drop table bench_bare");
    return elapsed;
  };
  const importTimes = [];
  let bareImport = 0;
  for (let offset = 0; offset < total; offset += batch) {
    const began = performance.now();
    const result = JSON.parse(await api("POST", "/api/v1/accounts/import", csvFor(offset), "text/csv"));
    importTimes.push(performance.now() - began);
    if (result.created !== batch) throw new Error(`import created ${result.created}`);
    if (offset === 0) bareImport = await bareInsert();
  }
  const firstImport = importTimes[0];
  console.log(
    `import 10,000 via API (first, empty table)   ${(firstImport / 1000).toFixed(2)} s   ${Math.round(batch / (firstImport / 1000)).toLocaleString("en")} accounts/s`,
  );
  console.log(
    `import 10,000 via API (last, ${(total - batch).toLocaleString("en")} present) ${(importTimes.at(-1) / 1000).toFixed(2)} s   median of ${importTimes.length}: ${(median(importTimes) / 1000).toFixed(2)} s`,
  );
  console.log(
    `bare INSERT of 10,000 rows (baseline)        ${(bareImport / 1000).toFixed(2)} s   ${Math.round(batch / (bareImport / 1000)).toLocaleString("en")} rows/s   import ratio ${(bareImport / firstImport).toFixed(3)}`,
  );
  await knex.raw(database.kind === "postgres" ? "analyze accounts" : "analyze accounts");

  // Queries at full size: through the API, and the same SQL alone.
  const captured = [];
  const capture = (query) => captured.push(query);
  const cases = [
    ["list, first page of 50, by username", "/api/v1/accounts?pageSize=50"],
    ["list, page 1000 of 50", "/api/v1/accounts?pageSize=50&page=1000&sort=-createdAt"],
    ["list, status and group filter", `/api/v1/accounts?status=active&groupId=${groups[3].id}&pageSize=50`],
    ["search username prefix", "/api/v1/accounts?q=410999"],
    ["search display-name word", "/api/v1/accounts?q=rossi"],
    ["search phone number", "/api/v1/accounts?q=%2B41791099"],
  ];
  const ratios = [];
  const plans = [];
  for (const [label, path] of cases) {
    await api("GET", path);
    captured.length = 0;
    knex.on("query", capture);
    await api("GET", path);
    knex.off("query", capture);
    const statements = captured
      .filter((q) => /from "accounts"/.test(q.sql))
      .map((q) => ({ sql: q.sql.replace(/\$\d+/g, "?"), bindings: q.bindings }));
    const apiTimes = [];
    const sqlTimes = [];
    for (let r = 0; r < repeats; r++) {
      let began = performance.now();
      await api("GET", path);
      apiTimes.push(performance.now() - began);
      began = performance.now();
      for (const statement of statements) await knex.raw(statement.sql, statement.bindings);
      sqlTimes.push(performance.now() - began);
    }
    const apiMs = median(apiTimes);
    const sqlMs = median(sqlTimes);
    ratios.push(sqlMs / apiMs);
    console.log(
      `${label.padEnd(40)} API ${apiMs.toFixed(1).padStart(7)} ms   SQL alone ${sqlMs.toFixed(1).padStart(7)} ms   ratio ${(sqlMs / apiMs).toFixed(3)}`,
    );
    if (label.startsWith("search")) {
      const page = statements.find((s) => /limit/.test(s.sql)) ?? statements[0];
      const plan = await knex.raw(`explain ${page.sql}`, page.bindings);
      plans.push([label, plan.rows.map((row) => row["QUERY PLAN"]).join("\n    ")]);
    }
  }

  // Export: every account as CSV.
  const exportTimes = [];
  const exportSqlTimes = [];
  for (let r = 0; r < 3; r++) {
    let began = performance.now();
    const csv = await api("GET", "/api/v1/accounts.csv");
    exportTimes.push(performance.now() - began);
    const lines = csv.split("\r\n").length - 2;
    if (lines !== total) throw new Error(`export had ${lines} rows`);
    began = performance.now();
    for (let offset = 0; ; offset += 1000) {
      const rows = await knex("accounts")
        .whereNull("deleted_at")
        .orderBy("username")
        .orderBy("id")
        .offset(offset)
        .limit(1000);
      if (rows.length < 1000) break;
    }
    exportSqlTimes.push(performance.now() - began);
  }
  const exportMs = median(exportTimes);
  const exportSqlMs = median(exportSqlTimes);
  ratios.push(exportSqlMs / exportMs);
  console.log(
    `export ${total.toLocaleString("en")} as CSV`.padEnd(40) +
      ` API ${(exportMs / 1000).toFixed(2).padStart(6)} s    SQL alone ${(exportSqlMs / 1000).toFixed(2)} s    ratio ${(exportSqlMs / exportMs).toFixed(3)}   (${Math.round(total / (exportMs / 1000)).toLocaleString("en")} rows/s)`,
  );

  console.log("\nsearch query plans:");
  for (const [label, plan] of plans) console.log(`  ${label}:\n    ${plan}`);
  const geometric = Math.exp(ratios.reduce((sum, r) => sum + Math.log(r), 0) / ratios.length);
  console.log(`\nratio ${geometric.toFixed(3)}`);
} finally {
  await server.close();
  await database.close();
  await dropDatabase();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}
