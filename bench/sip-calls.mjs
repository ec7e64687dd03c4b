#!/usr/bin/env node
/**
 * Proxied calls: Kamailio (the anchor in ../shared/anchors/kamailio) and provisiond, one after
 * the other in one run, the same sipp call scenario (test/sip/scenarios/call.xml: INVITE -> 407
 * -> ACK -> INVITE with credentials -> 180 -> 200 -> ACK and BYE through Record-Route -> 200)
 * from 1,000 callers to one callee, a sipp server (uas_answer_at_once.xml) registered from its port.
 *
 * The same rule about INVITEs for both: every INVITE is authenticated with proxy digest (407,
 * MD5, qop=auth). Kamailio runs the anchor's configuration with its INVITE route given
 * pv_proxy_authenticate against the anchor's in-memory subscriber table (htable); the derived
 * file is written to the work folder, the anchor is not changed. For each server the sipp rate is
 * raised step by step and the highest rate with no failed call is kept. The last line is
 * `ratio <provisiond/Kamailio>`.
 *
 * Ports are picked free (20000-49999) so that other benches on the anchor's ports do not mix in.
 * Environment: KAM_ANCHOR, BENCH_WORK, BENCH_DATABASE_URL (PostgreSQL admin URL; PGlite when
 * unreachable), BENCH_SECONDS (length of each step, default 8), BENCH_KAM_RATES and
 * BENCH_PROV_RATES (comma-separated ladders), BENCH_SKIP_KAMAILIO.
 */
import { execFileSync, spawn } from "node:child_process";
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
const work = resolve(process.env.BENCH_WORK ?? "/tmp/provisiond-sip-calls-bench");
const kamWork = join(work, "kam");
const scenarios = join(root, "test", "sip", "scenarios");
const users = 1000;
const password = process.env.BENCH_PASSWORD ?? "secret-bench";
const calleeName = "10999";
const seconds = Number(process.env.BENCH_SECONDS ?? 8);
const ladderOf = (value, fallback) => (value ?? fallback).split(",").map(Number);
const kamRates = ladderOf(process.env.BENCH_KAM_RATES, "1000,800,600,400,300,200,100");
const provRates = ladderOf(process.env.BENCH_PROV_RATES, "100,150,200,300,400,500,600,800");
const adminUrl = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
// Ports are picked free at start: other benches on the machine use the anchor's 5070-5080, and
// Kamailio binds UDP with SO_REUSEADDR, so a second one on the same port silently shares its traffic.
const [kamPort, provPort, callerPort, calleePort] = await freeUdpPorts(4);

const log = (...args) => console.error("[bench]", ...args);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Ports free for UDP (and TCP) on loopback, distinct, outside the anchor's 5060-5099. */
async function freeUdpPorts(count) {
  const { createSocket } = await import("node:dgram");
  const ports = [];
  while (ports.length < count) {
    const port = 20000 + Math.floor(Math.random() * 30000);
    if (ports.includes(port)) continue;
    const free = await new Promise((resolveFree) => {
      const socket = createSocket("udp4");
      socket.once("error", () => resolveFree(false));
      socket.bind(port, "127.0.0.1", () => socket.close(() => resolveFree(true)));
    });
    if (free) ports.push(port);
  }
  return ports;
}

/** The anchor's users, renamed as the accounts service wants (user<N> -> 10<N>), as caller rows. */
function prepareUsers() {
  rmSync(kamWork, { recursive: true, force: true });
  mkdirSync(kamWork, { recursive: true });
  execFileSync("sh", [join(anchor, "gen_users.sh"), String(users), password, "127.0.0.1"], {
    env: { ...process.env, KAM_WORK: kamWork },
  });
  for (const file of ["users.csv", "db/subscriber"]) {
    const path = join(kamWork, file);
    writeFileSync(path, readFileSync(path, "utf8").replace(/\buser(\d+)\b/g, "10$1"));
  }
  const usernames = readFileSync(join(kamWork, "users.csv"), "utf8")
    .split("\n")
    .slice(1)
    .filter((line) => line.includes(";"))
    .map((line) => line.split(";")[0]);
  // Callers: every user but the callee, in a loop; fields caller;password;domain;callee.
  const callers = usernames.filter((u) => u !== calleeName);
  writeFileSync(
    join(work, "callers.csv"),
    `SEQUENTIAL\n${callers.map((u) => `${u};${password};127.0.0.1;${calleeName}`).join("\n")}\n`,
  );
  writeFileSync(join(work, "callee.csv"), `SEQUENTIAL\n${calleeName};${password};127.0.0.1\n`);
  return usernames;
}

function cpuTicks(pids) {
  let total = 0;
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
      total += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone
    }
  }
  return total;
}

function sipp(args, cwd) {
  const child = spawn("sipp", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  const done = new Promise((r) => child.on("close", (code) => r({ code, stderr })));
  return { child, done };
}

function statOf(dir) {
  const rows = readFileSync(join(dir, "stat.csv"), "utf8").trim().split("\n");
  const header = rows[0].split(";");
  const last = rows[rows.length - 1].split(";");
  const value = (name) => last[header.indexOf(name)] ?? "0";
  const elapsed =
    Number(value("CurrentTime").split(/\s+/).pop()) - Number(value("StartTime").split(/\s+/).pop());
  return {
    successful: Number(value("SuccessfulCall(C)")),
    failed: Number(value("FailedCall(C)")),
    retransmissions: Number(value("Retransmissions(C)")),
    elapsed,
  };
}

/** Registers the callee from its port, then runs one step: callee and callers for `rate` * seconds calls. */
async function runStep(label, rate, port, serverPids) {
  const target = `127.0.0.1:${port}`;
  const dir = join(work, "runs", label);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const reg = sipp(
    [
      target,
      "-sf",
      join(scenarios, "register_only.xml"),
      "-inf",
      join(work, "callee.csv"),
      "-i",
      "127.0.0.1",
      "-p",
      String(calleePort),
      "-t",
      "u1",
      "-m",
      "1",
      "-timeout",
      "10s",
      "-timeout_error",
      "-nostdin",
    ],
    dir,
  );
  const registered = await reg.done;
  if (registered.code !== 0) throw new Error(`${label}: the callee did not register\n${registered.stderr}`);
  const calls = rate * seconds;
  const calleeDir = join(dir, "callee");
  mkdirSync(calleeDir);
  const callee = sipp(
    [
      target,
      "-sf",
      join(scenarios, "uas_answer_at_once.xml"),
      "-i",
      "127.0.0.1",
      "-p",
      String(calleePort),
      "-t",
      "u1",
      "-m",
      String(calls),
      "-timeout",
      `${seconds + 40}s`,
      "-nostdin",
      "-buff_size",
      "4194304",
      "-trace_err",
      "-trace_stat",
      "-stf",
      "stat.csv",
    ],
    calleeDir,
  );
  await sleep(300);
  const ticks0 = cpuTicks(serverPids);
  const started = Date.now();
  const caller = sipp(
    [
      target,
      "-sf",
      join(scenarios, "call.xml"),
      "-inf",
      join(work, "callers.csv"),
      "-i",
      "127.0.0.1",
      "-p",
      String(callerPort),
      "-t",
      "u1",
      "-r",
      String(rate),
      "-m",
      String(calls),
      "-l",
      "5000",
      "-timeout",
      `${seconds + 30}s`,
      "-nostdin",
      "-buff_size",
      "4194304",
      "-trace_stat",
      "-stf",
      "stat.csv",
      "-fd",
      "1",
      "-trace_err",
    ],
    dir,
  );
  // sipp's own -timeout does not always end a run whose calls hang: the bench does.
  const guard = setTimeout(() => caller.child.kill("SIGKILL"), (seconds + 45) * 1000);
  await caller.done;
  clearTimeout(guard);
  const wall = (Date.now() - started) / 1000;
  const cpu = ((cpuTicks(serverPids) - ticks0) / 100 / wall) * 100;
  await Promise.race([callee.done, sleep(3000)]);
  callee.child.kill("SIGKILL");
  const stat = statOf(dir);
  const achieved = stat.elapsed > 0 ? Math.round(stat.successful / stat.elapsed) : 0;
  const clean = stat.failed === 0 && stat.successful === calls;
  const summary = `${label}: rate ${rate}/s, ${calls} calls: successful=${stat.successful} failed=${stat.failed} retransmissions=${stat.retransmissions} elapsed=${stat.elapsed.toFixed(1)}s achieved=${achieved} calls/s, server CPU ${cpu.toFixed(0)}% of one core`;
  return { rate, calls, achieved, clean, summary, ...stat };
}

async function ladder(name, rates, port, pids, descending) {
  let best = null;
  for (const rate of rates) {
    const step = await runStep(`${name}_r${rate}`, rate, port, pids);
    log(step.summary);
    if (descending && step.clean) return step;
    if (!descending) {
      if (!step.clean) break;
      if (!best || step.achieved > best.achieved) best = step;
    }
  }
  return best;
}

/** The anchor's configuration, its INVITE route authenticating like provisiond (proxy digest). */
function kamailioConfig() {
  let cfg = readFileSync(join(anchor, "kamailio.cfg"), "utf8")
    .replaceAll("@WORK@", kamWork)
    .replaceAll("127.0.0.1:5070", `127.0.0.1:${kamPort}`);
  if (!cfg.includes(`listen=udp:127.0.0.1:${kamPort}`))
    throw new Error("the anchor's listen line has changed");
  cfg = cfg.replace(
    '\tif (is_method("INVITE")) {\n\t\tt_check_trans();',
    `\tif (is_method("INVITE")) {
		if ($au == $null || $sht(subs=>$au) == $null
				|| !pv_proxy_authenticate("$fd", "$sht(subs=>$au)", "0")) {
			proxy_challenge("$fd", "1");
			exit;
		}
		consume_credentials();
		t_check_trans();`,
  );
  if (!cfg.includes("pv_proxy_authenticate")) throw new Error("the anchor's INVITE route has changed");
  const path = join(kamWork, "kamailio-calls.cfg");
  writeFileSync(path, cfg);
  return path;
}

async function benchKamailio() {
  const cfg = kamailioConfig();
  log("starting Kamailio (2 workers, subscribers in an htable, INVITEs authenticated)");
  const child = spawn(
    "kamailio",
    ["-f", cfg, "-DD", "-E", "-n", "2", "-A", "WITH_HTABLE_AUTH", "-m", "256", "-M", "16"],
    {
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let output = "";
  child.stderr.on("data", (chunk) => {
    output += chunk;
  });
  writeFileSync(join(kamWork, "kam.pid"), String(child.pid));
  await sleep(1500);
  if (child.exitCode !== null) throw new Error(`kamailio did not start:\n${output}`);
  try {
    const pids = processTree(child.pid);
    await runStep("kam_warmup", 200, kamPort, pids);
    return await ladder("kam", kamRates, kamPort, pids, true);
  } finally {
    child.kill("SIGTERM");
    await Promise.race([new Promise((r) => child.once("exit", r)), sleep(5000)]);
    rmSync(join(kamWork, "kam.pid"), { force: true });
  }
}

async function benchProvisiond(usernames) {
  if (!existsSync(join(root, "dist/src/cli.js"))) throw new Error("dist/ is missing: run npm run build");
  const database = await benchDatabase(adminUrl, "provisiond_calls_bench");
  log(`starting provisiond on ${database ? "PostgreSQL" : "PGlite"}, SIP udp:127.0.0.1:${provPort}`);
  const server = await startProvisiond({ database, work, sipPort: provPort });
  try {
    const created = await createAccounts(server.base, server.token, {
      name: "SIP calls bench",
      usernames,
      password,
    });
    log(`created ${created} accounts through the accounts import`);
    const pids = processTree(server.child.pid);
    await runStep("prov_warmup", 100, provPort, pids);
    return await ladder("prov", provRates, provPort, pids, false);
  } finally {
    server.child.kill("SIGTERM");
    await new Promise((r) => server.child.once("exit", r));
    database?.drop();
  }
}

mkdirSync(work, { recursive: true });
const usernames = prepareUsers();
const kam = process.env.BENCH_SKIP_KAMAILIO ? null : await benchKamailio();
const prov = await benchProvisiond(usernames);
const describe = (name, step) =>
  step
    ? `${name}: ${step.achieved} calls/s (sipp rate ${step.rate}/s, ${step.successful} calls, 0 failed)`
    : `${name}: no rate ran without failures`;
console.log(describe("kamailio", kam));
console.log(describe("provisiond", prov));
if (kam) console.log(kam.summary);
if (prov) console.log(prov.summary);
console.log(`ratio ${kam && prov ? (prov.achieved / kam.achieved).toFixed(3) : 0}`);
