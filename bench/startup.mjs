#!/usr/bin/env node
// Start-up time and idle memory of the compiled server, against a bare node:http server
// started the same way (the baseline). Runs: first start on an empty embedded database,
// restart on the same data, and PostgreSQL when DATABASE_URL is set.
// Last line: `ratio <bare start time / provisiond restart time>` (higher is better).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const cli = join(root, "dist", "src", "cli.js");
const runs = Number(process.env.BENCH_RUNS ?? 5);

const bareServer = `
const http = require("node:http");
const server = http.createServer((req, res) => { res.setHeader("content-type", "application/json"); res.end('{"status":"ok"}'); });
server.listen(0, "127.0.0.1", () => console.log(JSON.stringify({ url: "http://127.0.0.1:" + server.address().port, msg: "provisiond listening" })));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
`;

function rssKiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

async function startOnce(args, env) {
  const began = performance.now();
  const child = spawn(process.execPath, args, {
    env: {
      PATH: process.env.PATH,
      NODE_ENV: "production",
      PROVISIOND_HTTP_HOST: "127.0.0.1",
      PROVISIOND_HTTP_PORT: "0",
      // Production listens on every interface; the benchmark keeps SIP on loopback.
      PROVISIOND_SIP_LISTEN: "udp:127.0.0.1:0,tcp:127.0.0.1:0",
      PROVISIOND_LOG_LEVEL: "info",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (chunk) => {
    out += chunk;
  });
  let url;
  while (!url) {
    url = /"url":"(http:\/\/[^"]+)"/.exec(out)?.[1];
    if (child.exitCode !== null) throw new Error(`exited early: ${out}`);
    if (!url) await new Promise((r) => setTimeout(r, 5));
  }
  while ((await fetch(`${url}/healthz`).catch(() => ({ status: 0 }))).status !== 200) {
    await new Promise((r) => setTimeout(r, 5));
  }
  const startMs = performance.now() - began;
  await new Promise((r) => setTimeout(r, 2000)); // idle
  const rss = rssKiB(child.pid);
  child.kill("SIGTERM");
  const code = await new Promise((r) => child.on("exit", r));
  if (code !== 0) throw new Error(`exit code ${code}`);
  return { startMs, rssMiB: rss / 1024 };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function series(name, makeArgs) {
  const results = [];
  for (let i = 0; i < runs; i++) results.push(await makeArgs(i));
  const start = median(results.map((r) => r.startMs));
  const rss = median(results.map((r) => r.rssMiB));
  console.log(
    `${name.padEnd(34)} start-to-healthz median ${start.toFixed(0).padStart(5)} ms   idle RSS ${rss.toFixed(1)} MiB   (${runs} runs)`,
  );
  return { start, rss };
}

const bare = await series("bare node:http (baseline)", () => startOnce(["-e", bareServer], {}));
await series("provisiond, PGlite, first start", async () => {
  const dir = mkdtempSync(join(tmpdir(), "provisiond-bench-"));
  try {
    return await startOnce([cli, "serve"], { PROVISIOND_DATA_DIR: dir });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
const dataDir = mkdtempSync(join(tmpdir(), "provisiond-bench-"));
await startOnce([cli, "serve"], { PROVISIOND_DATA_DIR: dataDir });
const restart = await series("provisiond, PGlite, restart", () =>
  startOnce([cli, "serve"], { PROVISIOND_DATA_DIR: dataDir }),
);
rmSync(dataDir, { recursive: true, force: true });
if (process.env.DATABASE_URL) {
  await series("provisiond, PostgreSQL", () =>
    startOnce([cli, "serve"], { DATABASE_URL: process.env.DATABASE_URL }),
  );
}
console.log(`ratio ${(bare.start / restart.start).toFixed(3)}`);
