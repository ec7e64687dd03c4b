#!/usr/bin/env node
// License checks answered from the cache: requests per second and p99 latency of
// POST /license/check (HTTP digest with the SIP credentials, signed envelope) against a bare
// node:http server answering the same JSON body, each in a process of its own, driven in turn
// by the same keep-alive load generator (this process) with the same concurrency. Both get the
// same requests (digest Authorization included) and send the same answer (body and the proxy's
// headers), so the ratio measures what the proxy does, not how much more the driver parses.
// The vendor is a signing simulator here; it is asked once, every measured check is a cache hit.
// Environment: BENCH_REQUESTS (per run, default 10000), BENCH_CONCURRENCY (16), BENCH_ROUNDS (9),
// BENCH_LOG_LEVEL (the server's log level, default info: one access line per request, to /dev/null).
// Last line: `ratio <median over the rounds of proxy checks per second / bare requests per second>`.
import { fork } from "node:child_process";
import { createHash, generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { Agent, createServer, request } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const self = fileURLToPath(import.meta.url);
const role = process.argv[2] ?? "driver";

// provisiond, compiled, on a fresh embedded database, in its own process.
async function runProxy() {
  const dist = (path) => import(join(root, "dist", "src", path));
  const { loadConfig } = await dist("config/load.js");
  const { startServer } = await dist("main.js");
  const { createLogger } = await dist("logger.js");
  const { default: pino } = await import("pino");
  const dataDir = mkdtempSync(join(tmpdir(), "provisiond-bench-license-"));
  const level = process.env.BENCH_LOG_LEVEL ?? "info";
  const config = loadConfig({
    env: { NODE_ENV: "production" },
    overrides: {
      http: { host: "127.0.0.1", port: 0 },
      log: { level },
      sip: { enabled: false },
      secrets: { credentialKey: "62656e6368000000000000000000000000000000000000000000000000000002" },
      database: { url: null, dataDir },
      license: { vendorUrl: process.env.BENCH_VENDOR_URL, vendorPublicKey: process.env.BENCH_VENDOR_KEY },
    },
  });
  let token;
  const server = await startServer({
    config,
    logger: createLogger(level, pino.destination({ dest: "/dev/null", sync: false })),
    onInitialToken: (issued) => {
      token = issued.token;
    },
  });
  process.send({ url: server.url, token });
  process.on("message", async (message) => {
    if (message !== "stop") return;
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  });
}

// The baseline: node:http answering the same bytes.
async function runBare() {
  const answer = await new Promise((resolve) => process.once("message", resolve));
  const body = Buffer.from(answer.body, "base64");
  // The proxy's answer, headers and all, so both servers send the same bytes to the driver.
  const headers = { ...answer.headers, "content-length": body.length };
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, headers);
      res.end(body);
    });
  });
  server.listen(0, "127.0.0.1", () => process.send({ url: `http://127.0.0.1:${server.address().port}` }));
  process.on("message", (message) => {
    if (message === "stop") server.close(() => process.exit(0));
  });
}

function startChild(arg, env = {}) {
  // BENCH_PROFILE=<dir> writes a CPU profile of each child there.
  const execArgv = process.env.BENCH_PROFILE
    ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROFILE}`]
    : [];
  const child = fork(self, [arg], {
    env: { ...process.env, ...env },
    execArgv,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const ready = new Promise((resolve, reject) => {
    child.once("message", resolve);
    child.once("exit", (code) => reject(new Error(`${arg} exited with ${code}`)));
  });
  return { child, ready };
}

function stopChild(child) {
  return new Promise((resolve) => {
    child.once("exit", resolve);
    child.send("stop");
  });
}

function startVendor() {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  let calls = 0;
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      calls += 1;
      const asked = JSON.parse(Buffer.concat(chunks).toString());
      const body = Buffer.from(
        JSON.stringify({
          valid: true,
          code: "VALID",
          detail: null,
          nonce: asked.nonce,
          ttl: 86_400,
          license: {
            key: asked.key,
            status: "ACTIVE",
            expiry: "2030-01-01T00:00:00.000Z",
            entitlements: ["calls"],
            maxDevices: 5,
          },
        }),
      );
      const date = new Date().toUTCString();
      const signature = sign(
        null,
        Buffer.concat([Buffer.from(`${date}\n${req.url}\n`), body]),
        privateKey,
      ).toString("base64");
      res.sendDate = false;
      res.writeHead(200, { "content-type": "application/json", date, "license-signature": signature });
      res.end(body);
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({
        url: `http://127.0.0.1:${server.address().port}`,
        publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
        calls: () => calls,
        close: () => new Promise((r) => server.close(r)),
      }),
    ),
  );
}

function send(agent, url, path, headers, body) {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, url), { method: "POST", agent, headers }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** CPU time a process has used, from /proc (Linux, 100 ticks a second); 0 where there is none. */
function cpuTimeMs(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}

const sha256 = (text) => createHash("sha256").update(text).digest("hex");

/** `count` Authorization headers for one nonce, nonce-counts 1..count, computed before the clock runs. */
function authorizations({ username, realm, password, nonce, uri, count }) {
  const ha1 = sha256(`${username}:${realm}:${password}`);
  const ha2 = sha256(`POST:${uri}`);
  const out = new Array(count);
  for (let i = 0; i < count; i++) {
    const nc = (i + 1).toString(16).padStart(8, "0");
    const cnonce = randomBytes(8).toString("hex");
    const response = sha256(`${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`);
    out[i] =
      `Digest username="${username}", realm="${realm}", nonce="${nonce}", uri="${uri}", algorithm=SHA-256, ` +
      `qop=auth, nc=${nc}, cnonce="${cnonce}", response="${response}"`;
  }
  return out;
}

/** `total` requests from `concurrency` workers on keep-alive connections; throughput and p99. */
async function load({ url, path, body, concurrency, total, headersFor }) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies = new Float64Array(total);
  let next = 0;
  let failures = 0;
  const began = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      let own = 0;
      while (next < total) {
        const i = next++;
        const started = performance.now();
        const res = await send(agent, url, path, headersFor(worker, own++), body);
        latencies[i] = performance.now() - started;
        if (res.status !== 200) failures += 1;
      }
    }),
  );
  const seconds = (performance.now() - began) / 1000;
  agent.destroy();
  if (failures > 0) throw new Error(`${failures} of ${total} requests to ${url}${path} failed`);
  const sorted = latencies.sort();
  return { rps: total / seconds, p99: sorted[Math.floor(total * 0.99)] };
}

async function drive() {
  const total = Number(process.env.BENCH_REQUESTS ?? 10_000);
  const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 9);
  const warmup = Math.min(2000, total);
  const vendor = await startVendor();
  const proxy = startChild("--proxy", {
    BENCH_VENDOR_URL: vendor.url,
    BENCH_VENDOR_KEY: vendor.publicKeyPem,
    NODE_ENV: "production",
  });
  const { url: proxyUrl, token } = await proxy.ready;
  const api = async (method, path, body) => {
    const response = await fetch(`${proxyUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const json = await response.json();
    if (response.status >= 300)
      throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
    return json;
  };
  const realm = "bench.example.net";
  const password = "bench-Password-1";
  const org = await api("POST", "/api/v1/organisations", { name: "Bench" });
  const profile = await api("POST", "/api/v1/profiles", {
    organisationId: org.id,
    name: "Bench",
    sipDomain: realm,
    serverHost: "sip.bench.example.net",
    licenseMode: "proxy",
  });
  const group = await api("POST", "/api/v1/groups", {
    organisationId: org.id,
    name: "Bench",
    defaultProfileId: profile.id,
  });
  const account = await api("POST", "/api/v1/accounts", {
    groupId: group.id,
    type: "PGSM",
    mode: "manual",
    password,
    licenseKey: "BENCH-LICENSE-1",
  });
  const checkBody = JSON.stringify({ sipDomain: realm });
  const checkHeaders = { "content-type": "application/json", "content-length": Buffer.byteLength(checkBody) };

  // Each worker authenticates once (the challenge), then reuses its nonce with increasing nonce-counts.
  const nonces = [];
  const setupAgent = new Agent({ keepAlive: false });
  for (let w = 0; w < concurrency; w++) {
    const challenge = await send(setupAgent, proxyUrl, "/license/check", checkHeaders, checkBody);
    const header = [challenge.headers["www-authenticate"]].flat().find((v) => /algorithm=SHA-256/.test(v));
    nonces.push(/nonce="([^"]+)"/.exec(header)[1]);
  }
  const perWorker = 2 * Math.ceil((total + warmup) / concurrency) * (rounds + 1) + 10;
  const auth = nonces.map((nonce) =>
    authorizations({
      username: account.username,
      realm,
      password,
      nonce,
      uri: "/license/check",
      count: perWorker,
    }),
  );
  const used = new Array(concurrency).fill(0);
  const proxyHeaders = (worker) => ({ ...checkHeaders, authorization: auth[worker][used[worker]++] });

  // The first check asks the vendor; every later one is a cache hit. The bare server answers its bytes.
  const first = await send(setupAgent, proxyUrl, "/license/check", proxyHeaders(0), checkBody);
  const cached = await send(setupAgent, proxyUrl, "/license/check", proxyHeaders(0), checkBody);
  const envelope = JSON.parse(cached.body.toString());
  if (first.status !== 200 || envelope.source !== "cache") {
    throw new Error(`the proxy did not answer from its cache: ${first.status} ${cached.body.toString()}`);
  }
  const bare = startChild("--bare");
  const sameHeaders = {};
  for (const name of [
    "content-type",
    "x-request-id",
    "license-signature",
    "license-key-id",
    "cache-control",
  ]) {
    sameHeaders[name] = cached.headers[name];
  }
  bare.child.send({ body: cached.body.toString("base64"), headers: sameHeaders });
  const { url: bareUrl } = await bare.ready;
  // The bare server gets the very requests the proxy gets (Authorization included) and ignores them.
  const bareHeaders = proxyHeaders;

  console.log(
    `license checks from the cache: ${total} requests per run, ${concurrency} keep-alive connections, ` +
      `${rounds} rounds (medians), server log level ${process.env.BENCH_LOG_LEVEL ?? "info"}; ` +
      "both servers get the same requests and send the same answer",
  );
  await load({
    url: bareUrl,
    path: "/license/check",
    body: checkBody,
    concurrency,
    total: warmup,
    headersFor: bareHeaders,
  });
  await load({
    url: proxyUrl,
    path: "/license/check",
    body: checkBody,
    concurrency,
    total: warmup,
    headersFor: proxyHeaders,
  });
  const results = { proxy: [], bare: [] };
  // Pairs of runs close in time, in alternating order: the machine's other load drifts, and a
  // ratio of two runs seconds apart says more than a ratio of two medians minutes apart.
  const run = (target) =>
    load({
      url: target === "proxy" ? proxyUrl : bareUrl,
      path: "/license/check",
      body: checkBody,
      concurrency,
      total,
      headersFor: target === "proxy" ? proxyHeaders : bareHeaders,
    });
  const pids = { proxy: proxy.child.pid, bare: bare.child.pid };
  const cpuMs = { proxy: 0, bare: 0 };
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? ["bare", "proxy"] : ["proxy", "bare"];
    for (const target of order) {
      const before = cpuTimeMs(pids[target]);
      results[target].push(await run(target));
      cpuMs[target] += cpuTimeMs(pids[target]) - before;
    }
  }
  const vendorCalls = vendor.calls();
  await stopChild(proxy.child);
  await stopChild(bare.child);
  await vendor.close();

  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const summary = (list) => ({ rps: median(list.map((r) => r.rps)), p99: median(list.map((r) => r.p99)) });
  const p = summary(results.proxy);
  const b = summary(results.bare);
  const pairRatios = results.proxy.map((r, i) => r.rps / results.bare[i].rps);
  console.log(`vendor requests during the whole run: ${vendorCalls}`);
  console.log(
    `proxy  POST /license/check  ${p.rps.toFixed(0).padStart(7)} checks/s  p99 ${p.p99.toFixed(2)} ms`,
  );
  console.log(
    `bare   node:http            ${b.rps.toFixed(0).padStart(7)} req/s     p99 ${b.p99.toFixed(2)} ms`,
  );
  console.log(`p99 ratio (bare/proxy) ${(b.p99 / p.p99).toFixed(2)}`);
  if (cpuMs.proxy > 0 && cpuMs.bare > 0) {
    const perRequest = (ms) => ((ms * 1000) / (rounds * total)).toFixed(1);
    console.log(
      `server CPU per request (user+system): proxy ${perRequest(cpuMs.proxy)} us, bare ${perRequest(cpuMs.bare)} us`,
    );
  }
  console.log(`ratios of the ${rounds} pairs: ${pairRatios.map((r) => r.toFixed(2)).join(" ")}`);
  console.log(`ratio ${median(pairRatios).toFixed(3)}`);
}

// A child whose driver went away stops too.
if (role !== "driver") process.on("disconnect", () => process.exit(1));
if (role === "--proxy") await runProxy();
else if (role === "--bare") await runBare();
else await drive();
