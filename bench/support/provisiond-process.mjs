// What the SIP benchmarks share: a fresh PostgreSQL database, provisiond started from dist/ on it,
// the admin API calls that create the bench accounts, and the process tree whose CPU is measured.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export async function freeTcpPort() {
  return new Promise((resolvePort) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

/** A database of the bench's own next to adminUrl; null when PostgreSQL cannot be reached. */
export async function benchDatabase(adminUrl, prefix) {
  const check = spawnSync("psql", [adminUrl, "-Atqc", "select 1"], { encoding: "utf8" });
  if (check.status !== 0) return null;
  const name = `${prefix}_${process.pid}`;
  spawnSync("psql", [adminUrl, "-qc", `drop database if exists ${name}`]);
  execFileSync("psql", [adminUrl, "-qc", `create database ${name}`]);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => spawnSync("psql", [adminUrl, "-qc", `drop database if exists ${name} with (force)`]),
  };
}

/** provisiond from dist/, serving SIP on one UDP port, ready once /healthz answers and the token is printed. */
export async function startProvisiond({ database, work, sipPort }) {
  const httpPort = await freeTcpPort();
  const dataDir = join(work, "data");
  rmSync(dataDir, { recursive: true, force: true });
  const env = {
    ...process.env,
    NODE_ENV: "bench",
    DATABASE_URL: database?.url ?? "",
    PROVISIOND_DATA_DIR: dataDir,
    PROVISIOND_HTTP_PORT: String(httpPort),
    PROVISIOND_LOG_LEVEL: "warn",
    PROVISIOND_SIP_LISTEN: `udp:127.0.0.1:${sipPort}`,
    // The anchor's Kamailio offers MD5 only, and sipp answers only the first challenge.
    PROVISIOND_SIP_DIGEST_ALGORITHMS: "MD5",
    // One SIP process by default. With 2 (BENCH_PROV_WORKERS=2) both share the UDP socket, so a
    // retransmission can reach the other worker, which answers it afresh: sipp counts the second
    // 401 as an unexpected message, and under load that snowballs (see README, sip.workers).
    PROVISIOND_SIP_WORKERS: process.env.BENCH_PROV_WORKERS ?? "1",
  };
  // BENCH_NODE_ARGS: extra node options for provisiond, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, join(root, "dist/src/cli.js"), "serve"], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr.on("data", (chunk) => {
    output += chunk;
  });
  const base = `http://127.0.0.1:${httpPort}`;
  for (let i = 0; ; i++) {
    if (i > 300) throw new Error(`provisiond did not start:\n${output}`);
    if (child.exitCode !== null) throw new Error(`provisiond exited:\n${output}`);
    const ok = await fetch(`${base}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok && /pvd_[A-Za-z0-9_-]{43}/.test(output)) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const token = /pvd_[A-Za-z0-9_-]{43}/.exec(output)[0];
  return { child, base, token, output: () => output };
}

async function api(base, token, method, path, body, contentType = "application/json") {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": contentType },
    body: contentType === "application/json" ? JSON.stringify(body) : body,
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 500)}`);
  return JSON.parse(text);
}

/** An organisation, a profile on 127.0.0.1 and a group, then the accounts in one CSV import. */
export async function createAccounts(base, token, { name, usernames, password }) {
  const org = await api(base, token, "POST", "/api/v1/organisations", { name });
  const profile = await api(base, token, "POST", "/api/v1/profiles", {
    organisationId: org.id,
    name,
    sipDomain: "127.0.0.1",
    serverHost: "127.0.0.1",
  });
  const group = await api(base, token, "POST", "/api/v1/groups", {
    organisationId: org.id,
    name,
    defaultProfileId: profile.id,
  });
  const csv = [
    "groupId,type,username,password",
    ...usernames.map((u) => `${group.id},PGSM,${u},${password}`),
  ].join("\n");
  const result = await api(base, token, "POST", "/api/v1/accounts/import", csv, "text/csv");
  return result.created;
}

/** pid and all its descendants (SIP workers), whose CPU a bench step measures. */
export function processTree(pid) {
  const out = spawnSync("ps", ["-e", "-o", "pid=,ppid="], { encoding: "utf8" }).stdout;
  const children = new Map();
  for (const line of out.trim().split("\n")) {
    const [p, pp] = line.trim().split(/\s+/).map(Number);
    if (!children.has(pp)) children.set(pp, []);
    children.get(pp).push(p);
  }
  const all = [pid];
  for (let i = 0; i < all.length; i++) all.push(...(children.get(all[i]) ?? []));
  return all;
}
