#!/usr/bin/env node
/**
 * REGISTER with digest authentication: Kamailio (the anchor in ../shared/anchors/kamailio, with
 * subscribers in memory) and provisiond, the same 10,000 users, the same sipp scenario
 * (reg_auth.xml: REGISTER -> 401 -> REGISTER+auth -> 200), one after the other in one run.
 * For each server it raises the sipp rate step by step and keeps the highest rate that ran with
 * no failed registration. The last line is `ratio <provisiond/Kamailio>`.
 *
 * The users: the anchor's gen_users.sh makes user0..user9999 with the password `secret`, which
 * the accounts service refuses (usernames are 3 to 20 digits, passwords at least 8 characters).
 * So both servers get the anchor's files with the usernames rewritten user<N> -> 10<N> and the
 * password BENCH_PASSWORD; provisiond's accounts are created through the accounts import API,
 * so the registrar reads them through the real credential path (HA1 from the accounts table).
 *
 * Environment: KAM_ANCHOR (anchor folder), BENCH_WORK (work folder), BENCH_DATABASE_URL
 * (PostgreSQL admin URL; default postgres://postgres@127.0.0.1:5432/postgres, PGlite when
 * unreachable), BENCH_SECONDS (length of each step, default 12), BENCH_KAM_RATES and
 * BENCH_PROV_RATES (comma-separated rate ladders), BENCH_PROV_WORKERS (provisiond SIP worker
 * processes, sip.workers; default 1 = SIP in the main process), BENCH_SKIP_KAMAILIO,
 * BENCH_NODE_ARGS (e.g. "--max-semi-space-size=32").
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  benchDatabase,
  createAccounts,
  processTree,
  startProvisiond,
} from "./support/provisiond-process.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const anchor = resolve(process.env.KAM_ANCHOR ?? join(root, "..", "shared", "anchors", "kamailio"));
const work = resolve(process.env.BENCH_WORK ?? "/tmp/provisiond-sip-bench");
const kamWork = join(work, "kam");
const users = 10_000;
const password = process.env.BENCH_PASSWORD ?? "secret-bench";
const seconds = Number(process.env.BENCH_SECONDS ?? 12);
const kamRates = (process.env.BENCH_KAM_RATES ?? "9000,8000,7000,6000,5000").split(",").map(Number);
const provRates = (
  process.env.BENCH_PROV_RATES ?? "500,1000,1500,2000,3000,4000,4500,5000,5500,6000,7000,8000,9000"
)
  .split(",")
  .map(Number);
const provSipPort = 5080;
const adminUrl = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

const log = (...args) => console.error("[bench]", ...args);

function sh(command, args, env = {}) {
  return execFileSync(command, args, {
    env: { ...process.env, KAM_WORK: kamWork, ...env },
    encoding: "utf8",
  });
}

/** The anchor's users with usernames the accounts service accepts (user<N> -> 10<N>). */
function prepareUsers() {
  rmSync(kamWork, { recursive: true, force: true });
  mkdirSync(kamWork, { recursive: true });
  sh("sh", [join(anchor, "gen_users.sh"), String(users), password, "127.0.0.1"]);
  for (const file of ["users.csv", "db/subscriber"]) {
    const path = join(kamWork, file);
    writeFileSync(path, readFileSync(path, "utf8").replace(/\buser(\d+)\b/g, "10$1"));
  }
  return readFileSync(join(kamWork, "users.csv"), "utf8")
    .split("\n")
    .slice(1)
    .filter((line) => line.includes(";"))
    .map((line) => line.split(";")[0]);
}

/** One bounded sipp run through the anchor's run_bench.sh; returns its summary figures. */
function runStep(label, rate, target, sippPort, pids) {
  const calls = rate * seconds;
  const output = sh("bash", [join(anchor, "run_bench.sh"), String(rate), String(calls), label, ...pids], {
    TARGET: target,
    SIPP_PORT: String(sippPort),
    INF: join(kamWork, "users.csv"),
  });
  const summary = output.trim();
  const achieved = Number(/achieved_success_rate=(\d+)/.exec(summary)?.[1] ?? 0);
  const successful = Number(/successful=(\d+)/.exec(summary)?.[1] ?? 0);
  const failed = Number(/failed=(\d+)/.exec(summary)?.[1] ?? -1);
  return { rate, calls, achieved, successful, failed, summary };
}

/** Raises the rate until a step has failures; the best clean step is the sustained rate. */
function ladder(name, rates, target, sippPort, pids) {
  let best = null;
  for (const rate of rates) {
    const step = runStep(`${name}_r${rate}`, rate, target, sippPort, pids);
    log(`${name} @ ${rate}/s:\n${step.summary}`);
    const clean = step.failed === 0 && step.successful === step.calls;
    if (!clean) break;
    if (!best || step.achieved > best.achieved) best = step;
  }
  return best;
}

function descendingLadder(name, rates, target, sippPort, pids) {
  for (const rate of rates) {
    const step = runStep(`${name}_r${rate}`, rate, target, sippPort, pids);
    log(`${name} @ ${rate}/s:\n${step.summary}`);
    if (step.failed === 0 && step.successful === step.calls) return step;
  }
  return null;
}

async function benchKamailio() {
  log("starting Kamailio (2 workers, subscribers in an htable)");
  spawnSync("sh", [join(anchor, "kam_stop.sh")], {
    env: { ...process.env, KAM_WORK: kamWork },
    stdio: "ignore",
  });
  sh("sh", [join(anchor, "kam_start.sh"), "2", "htable"]);
  try {
    runStep("kam_warmup", 1000, "127.0.0.1:5070", 5072, []);
    return descendingLadder("kam", kamRates, "127.0.0.1:5070", 5072, []);
  } finally {
    spawnSync("sh", [join(anchor, "kam_stop.sh")], {
      env: { ...process.env, KAM_WORK: kamWork },
      stdio: "ignore",
    });
  }
}

async function benchProvisiond(usernames) {
  if (!existsSync(join(root, "dist/src/cli.js"))) throw new Error("dist/ is missing: run npm run build");
  const database = await benchDatabase(adminUrl, "provisiond_sip_bench");
  log(`starting provisiond on ${database ? "PostgreSQL" : "PGlite"}, SIP udp:127.0.0.1:${provSipPort}`);
  const server = await startProvisiond({ database, work, sipPort: provSipPort });
  try {
    const created = await createAccounts(server.base, server.token, {
      name: "SIP bench",
      usernames,
      password,
    });
    log(`created ${created} accounts through the accounts import`);
    // Strings: they go on run_bench.sh's command line.
    const pids = processTree(server.child.pid).map(String);
    runStep("prov_warmup", 1000, `127.0.0.1:${provSipPort}`, 5073, pids);
    return ladder("prov", provRates, `127.0.0.1:${provSipPort}`, 5073, pids);
  } finally {
    server.child.kill("SIGTERM");
    await new Promise((r) => server.child.once("exit", r));
    database?.drop();
  }
}

mkdirSync(work, { recursive: true });
const usernames = prepareUsers();
// BENCH_SKIP_KAMAILIO=1 measures provisiond alone (while tuning); the ratio needs both.
const kam = process.env.BENCH_SKIP_KAMAILIO ? null : await benchKamailio();
const prov = await benchProvisiond(usernames);
const describe = (name, step) =>
  step
    ? `${name}: ${step.achieved} REGISTER+auth/s sustained (sipp rate ${step.rate}/s, ${step.successful} registrations, 0 failed)`
    : `${name}: no rate ran without failures`;
console.log(describe("kamailio", kam));
console.log(describe("provisiond", prov));
if (kam) console.log(kam.summary);
if (prov) console.log(prov.summary);
console.log(`ratio ${kam && prov ? (prov.achieved / kam.achieved).toFixed(3) : 0}`);
