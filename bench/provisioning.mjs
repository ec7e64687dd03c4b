#!/usr/bin/env node
// Device provisioning: authenticated SNOM settings fetches per second (GET /snom/{mac}.xml, real
// HTTP digest with each phone's provisioning credential, the SIP password decrypted, the XML
// built, the fetch recorded) against a bare node:http server in a process of its own answering a
// fixed XML body of the same size, both driven in turn by the same keep-alive load generator
// (this process) with the same concurrency and the same requests (Authorization included).
// provisiond runs from dist/ (bench/support/provisiond-process.mjs) on a PostgreSQL database of
// its own when BENCH_DATABASE_URL's server answers, else on the embedded PGlite.
// Activations per second are measured by bench/support/activation-rate.mjs (measureActivations).
// Environment: BENCH_PHONES (accounts, default 64), BENCH_REQUESTS (per run, 4000),
// BENCH_CONCURRENCY (16), BENCH_ROUNDS (3), BENCH_DATABASE_URL (postgres://postgres@127.0.0.1:5432/postgres).
// Last line: `ratio <median SNOM fetches per second / median bare requests per second>`.
import { fork } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { Agent, createServer, request } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { measureActivations } from "./support/activation-rate.mjs";
import { benchDatabase, freeTcpPort, startProvisiond } from "./support/provisiond-process.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const self = fileURLToPath(import.meta.url);

const phones = Number(process.env.BENCH_PHONES ?? 64);
const requestsPerRun = Number(process.env.BENCH_REQUESTS ?? 4000);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const log = (line) => console.log(line);

function send(agent, base, path, headers) {
  return new Promise((resolve, reject) => {
    const url = new URL(path, base);
    const req = request(
      { host: url.hostname, port: url.port, path, method: "GET", agent, headers },
      (res) => {
        const chunks = [];
        res.on("data", (chunk) => chunks.push(chunk));
        res.on("end", () =>
          resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on("error", reject);
    req.end();
  });
}

const md5 = (text) => createHash("md5").update(text).digest("hex");

/** A phone's digest state: its nonce (taken once) and its nonce-count, as a phone's HTTP client keeps them. */
function digestPhone(credential, path) {
  let nonce = null;
  let nc = 0;
  const ha1 = md5(`${credential.username}:${credential.realm}:${credential.password}`);
  const ha2 = md5(`GET:${path}`);
  return {
    path,
    setNonce(value) {
      nonce = value;
      nc = 0;
    },
    hasNonce: () => nonce !== null,
    authorization() {
      nc += 1;
      const count = nc.toString(16).padStart(8, "0");
      const cnonce = randomBytes(8).toString("hex");
      const response = md5(`${ha1}:${nonce}:${count}:${cnonce}:auth:${ha2}`);
      return (
        `Digest username="${credential.username}", realm="${credential.realm}", nonce="${nonce}", ` +
        `uri="${path}", algorithm=MD5, qop=auth, nc=${count}, cnonce="${cnonce}", response="${response}"`
      );
    },
  };
}

const userAgent = "Mozilla/4.0 (compatible; snom760-SIP 10.1.54.13 1.1.3-s)";

async function takeNonce(agent, base, phone) {
  const challenge = await send(agent, base, phone.path, { "user-agent": userAgent });
  const header = [challenge.headers["www-authenticate"]].flat().find((value) => /algorithm=MD5/.test(value));
  const nonce = /nonce="([^"]+)"/.exec(header ?? "")?.[1];
  if (challenge.status !== 401 || !nonce) throw new Error(`expected a challenge, got ${challenge.status}`);
  phone.setNonce(nonce);
}

/**
 * requestsPerRun GETs, `concurrency` in flight on keep-alive connections. Each worker owns its
 * phones (so one nonce's counts never overtake each other) and sends each phone's next count.
 */
async function run(base, phoneList, { verify }) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const owned = Array.from({ length: concurrency }, (_, w) =>
    phoneList.filter((_, i) => i % concurrency === w),
  );
  let remaining = requestsPerRun;
  let failures = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    owned.map(async (mine) => {
      for (let turn = 0; remaining > 0; turn++) {
        remaining--;
        const phone = mine[turn % mine.length];
        const fetchOnce = () =>
          send(agent, base, phone.path, { "user-agent": userAgent, authorization: phone.authorization() });
        let answer = await fetchOnce();
        // A nonce lives 5 minutes: past it the server says stale=true and the phone, like a real
        // one, takes a new challenge and asks again (both requests are part of this fetch's time).
        if (answer.status === 401 && /stale=true/.test(String(answer.headers["www-authenticate"]))) {
          await takeNonce(agent, base, phone);
          answer = await fetchOnce();
        }
        if (verify && answer.status !== 200) failures++;
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  agent.destroy();
  return { perSecond: requestsPerRun / seconds, seconds, failures };
}

/** CPU seconds (user + system) a process has used so far, from /proc; null where there is none. */
function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    // utime and stime, fields 14 and 15 of the line, in clock ticks (100 per second on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main() {
  if (!existsSync(join(root, "dist/src/cli.js"))) throw new Error("dist/ is missing: run npm run build");
  const adminUrl = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  const database = await benchDatabase(adminUrl, "provisiond_provisioning_bench");
  const work = mkdtempSync(join(tmpdir(), "provisiond-bench-provisioning-"));
  const server = await startProvisiond({ database, work, sipPort: await freeTcpPort() });
  log(`provisiond from dist/ on ${database ? "PostgreSQL" : "PGlite"} at ${server.base}`);
  let bare;
  try {
    const api = async (method, path, body, contentType = "application/json") => {
      const response = await fetch(`${server.base}${path}`, {
        method,
        headers: { authorization: `Bearer ${server.token}`, "content-type": contentType },
        body: contentType === "application/json" ? JSON.stringify(body) : body,
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 300)}`);
      return JSON.parse(text);
    };
    const org = await api("POST", "/api/v1/organisations", { name: "Provisioning bench" });
    const profile = await api("POST", "/api/v1/profiles", {
      organisationId: org.id,
      name: "Desk phones",
      sipDomain: "bench.example.net",
      serverHost: "sip.bench.example.net",
      transports: { tls: { enabled: true } },
      tlsRequired: true,
      snom: { timezone: "Europe/Zurich", language: "de" },
    });
    const group = await api("POST", "/api/v1/groups", {
      organisationId: org.id,
      name: "Reception",
      defaultProfileId: profile.id,
    });
    const macs = Array.from(
      { length: phones },
      (_, i) => `000413${(0x100000 + i).toString(16).toUpperCase()}`,
    );
    const csv = [
      "groupId,type,macAddress,displayName",
      ...macs.map((mac, i) => `${group.id},SNOM,${mac},Desk ${i}`),
    ];
    const imported = await api("POST", "/api/v1/accounts/import", csv.join("\n"), "text/csv");
    log(`created ${imported.created} SNOM accounts and their provisioning credentials (one CSV import)`);

    // Activations per second: real CSRs through POST /a/{token} (bench/support/activation-rate.mjs).
    const activations = await measureActivations({
      baseUrl: server.base,
      operatorToken: server.token,
      count: Number(process.env.BENCH_ACTIVATIONS ?? 200),
      concurrency,
    });
    log(
      `PGSM activations: ${activations.perSecond.toFixed(1)}/s (${activations.activations} in ${activations.seconds.toFixed(2)} s)`,
    );

    const setupAgent = new Agent({ keepAlive: false });
    const phoneList = imported.accounts.map((account, i) =>
      digestPhone(account.provisioningCredential, `/snom/${macs[i]}.xml`),
    );
    for (const phone of phoneList) await takeNonce(setupAgent, server.base, phone);
    const sample = await send(setupAgent, server.base, phoneList[0].path, {
      "user-agent": userAgent,
      authorization: phoneList[0].authorization(),
    });
    if (sample.status !== 200) throw new Error(`a settings fetch failed: ${sample.status} ${sample.body}`);
    log(`settings file: ${sample.body.length} bytes`);

    const child = fork(self, ["--bare"], { stdio: "inherit" });
    bare = child;
    const ready = new Promise((resolve) => child.once("message", resolve));
    child.send({ body: sample.body.toString("base64") });
    const { url: bareUrl } = await ready;

    // Warm-up of both, then alternating rounds so neither gets the quieter moments of the machine.
    await run(server.base, phoneList, { verify: true });
    await run(bareUrl, phoneList, { verify: false });
    const snomRates = [];
    const bareRates = [];
    const cpuPerFetch = [];
    for (let round = 1; round <= rounds; round++) {
      const cpuBefore = cpuSeconds(server.child.pid);
      const snom = await run(server.base, phoneList, { verify: true });
      const cpuAfter = cpuSeconds(server.child.pid);
      if (cpuBefore !== null && cpuAfter !== null)
        cpuPerFetch.push(((cpuAfter - cpuBefore) * 1000) / requestsPerRun);
      if (snom.failures > 0) throw new Error(`${snom.failures} settings fetches failed in round ${round}`);
      const plain = await run(bareUrl, phoneList, { verify: false });
      snomRates.push(snom.perSecond);
      bareRates.push(plain.perSecond);
      log(
        `round ${round}: SNOM settings ${snom.perSecond.toFixed(0)} fetches/s, bare node:http ${plain.perSecond.toFixed(0)} requests/s`,
      );
    }
    const snomRate = median(snomRates);
    const bareRate = median(bareRates);
    log(
      `SNOM settings fetches: ${snomRate.toFixed(0)}/s (median of ${rounds} rounds of ${requestsPerRun}, ${concurrency} in flight, digest MD5, ${phones} phones)`,
    );
    log(`bare node:http, same body size: ${bareRate.toFixed(0)}/s`);
    if (cpuPerFetch.length > 0) {
      // Less CPU per fetch than 1/rate means the fetches wait (on the database) more than they compute.
      log(
        `provisiond CPU per fetch: ${median(cpuPerFetch).toFixed(2)} ms (1/rate: ${(1000 / snomRate).toFixed(2)} ms)`,
      );
    }
    log(`ratio ${(snomRate / bareRate).toFixed(3)}`);
  } finally {
    bare?.send("stop");
    server.child.kill("SIGTERM");
    await new Promise((resolve) => server.child.once("exit", resolve));
    database?.drop();
    rmSync(work, { recursive: true, force: true });
  }
}

// The bare server: a fixed body, nothing else.
function runBare() {
  process.once("message", ({ body }) => {
    const bytes = Buffer.from(body, "base64");
    const server = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { "content-type": "application/xml", "content-length": bytes.length });
      res.end(bytes);
    });
    server.keepAliveTimeout = 60_000;
    server.listen(0, "127.0.0.1", () => process.send({ url: `http://127.0.0.1:${server.address().port}` }));
    process.on("message", (message) => {
      if (message === "stop") server.close(() => process.exit(0));
    });
  });
}

if (process.argv[2] === "--bare") runBare();
else await main();
