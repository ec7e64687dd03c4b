// PGSM activations per second: accounts made through the admin API, an activation link each,
// then POST /a/{token} with a real CSR (P-256, made with Node's WebCrypto) from `concurrency`
// clients at once. Only the activations are timed; accounts, links and CSRs are made before.
// Run alone (node bench/support/activation-rate.mjs) it starts provisiond from dist/ and prints.
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto);

async function api(baseUrl, token, method, path, body) {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 500)}`);
  return JSON.parse(text);
}

/** Runs `work(i)` for i in [0, count) with at most `concurrency` under way. */
async function pool(count, concurrency, work) {
  let next = 0;
  const runners = Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, async () => {
    for (let i = next++; i < count; i = next++) await work(i);
  });
  await Promise.all(runners);
}

const algorithm = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };

async function makeCsr() {
  const keys = await webcrypto.subtle.generateKey(algorithm, false, ["sign", "verify"]);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: "CN=bench",
    keys,
    signingAlgorithm: algorithm,
  });
  return csr.toString("pem");
}

/**
 * Creates `count` PGSM accounts (wizard, pending activation) in an organisation of their own,
 * an activation link for each, and activates them all; answers the activations per second.
 */
export async function measureActivations({ baseUrl, operatorToken, count, concurrency }) {
  const name = `bench-activation-${process.pid}-${Date.now()}`;
  const org = await api(baseUrl, operatorToken, "POST", "/api/v1/organisations", { name });
  const profile = await api(baseUrl, operatorToken, "POST", "/api/v1/profiles", {
    organisationId: org.id,
    name,
    sipDomain: `${name}.example.net`,
    serverHost: "127.0.0.1",
  });
  const group = await api(baseUrl, operatorToken, "POST", "/api/v1/groups", {
    organisationId: org.id,
    name,
    defaultProfileId: profile.id,
  });
  const base = 100_000 + ((process.pid * 7919 + Date.now()) % 800_000);
  const tokens = new Array(count);
  const csrs = new Array(count);
  await pool(count, 8, async (i) => {
    const account = await api(baseUrl, operatorToken, "POST", "/api/v1/accounts", {
      groupId: group.id,
      type: "PGSM",
      mode: "wizard",
      phoneNumber: `+4178${String(base + i).padStart(7, "0")}`,
    });
    const link = await api(baseUrl, operatorToken, "POST", `/api/v1/accounts/${account.id}/activation-link`);
    tokens[i] = new URL(link.url).pathname.split("/a/")[1];
    csrs[i] = await makeCsr();
  });
  const device = { platform: "android", model: "bench", osVersion: "15", appVersion: "1.0.0" };
  let activations = 0;
  const started = process.hrtime.bigint();
  await pool(count, concurrency, async (i) => {
    const response = await fetch(`${baseUrl}/a/${tokens[i]}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ csr: csrs[i], device }),
    });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`activation ${i}: ${response.status} ${text.slice(0, 300)}`);
    const document = JSON.parse(text);
    if (!document.sip?.password || !document.tls?.certificatePem)
      throw new Error(`activation ${i}: no document`);
    activations++;
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { activations, seconds, perSecond: activations / seconds };
}

// Alone: provisiond from dist/ on PGlite (or DATABASE_URL's PostgreSQL, in a database of its own).
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { benchDatabase, freeTcpPort, startProvisiond } = await import("./provisiond-process.mjs");
  const database = process.env.DATABASE_URL
    ? await benchDatabase(process.env.DATABASE_URL, "bench_act")
    : null;
  const work = mkdtempSync(join(tmpdir(), "provisiond-bench-activation-"));
  const server = await startProvisiond({ database, work, sipPort: await freeTcpPort() });
  try {
    const count = Number(process.env.BENCH_ACTIVATIONS ?? 200);
    const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 8);
    const result = await measureActivations({
      baseUrl: server.base,
      operatorToken: server.token,
      count,
      concurrency,
    });
    console.log(
      `activations ${result.activations} in ${result.seconds.toFixed(2)} s: ${result.perSecond.toFixed(1)}/s (concurrency ${concurrency}, ${database ? "PostgreSQL" : "PGlite"})`,
    );
  } finally {
    server.child.kill("SIGTERM");
    await new Promise((resolve) => server.child.once("exit", resolve));
    database?.drop();
    rmSync(work, { recursive: true, force: true });
  }
}
