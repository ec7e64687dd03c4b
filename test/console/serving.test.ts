import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseKind } from "../support/database.js";
import { startTestServer, type TestServer } from "../support/server.js";

/** A GET with the path exactly as written: fetch() would resolve `..` before sending it. */
function rawGet(
  url: string,
  path: string,
  method = "GET",
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

describe(`the console's files at /console/ on ${databaseKind}`, () => {
  let t: TestServer;
  let root: string;
  let dir: string;

  beforeAll(async () => {
    // A console of our own next to a file it must never serve.
    root = mkdtempSync(join(tmpdir(), "provisiond-console-"));
    dir = join(root, "console");
    mkdirSync(join(dir, "assets", "nested"), { recursive: true });
    writeFileSync(join(root, "secret.txt"), "SECRET-OUTSIDE");
    writeFileSync(join(dir, "index.html"), "<!doctype html><title>console index</title>");
    writeFileSync(join(dir, "assets", "app-3f9a.js"), "console.log('app')");
    writeFileSync(join(dir, "assets", "nested", "x.css"), "body{}");
    writeFileSync(join(dir, "robots.txt"), "User-agent: *\nDisallow: /");
    t = await startTestServer({ config: { console: { dir } } });
  });
  afterAll(async () => {
    await t?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it("serves index.html at /console/ and for every app route, revalidated, with a strict CSP", async () => {
    for (const path of [
      "/console/",
      "/console/accounts",
      "/console/accounts/6f1c/edit",
      "/console/password/abc",
    ]) {
      const answer = await fetch(`${t.url}${path}`);
      expect(answer.status, path).toBe(200);
      expect(answer.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(await answer.text()).toContain("console index");
      expect(answer.headers.get("cache-control")).toBe("no-cache");
      const csp = answer.headers.get("content-security-policy") ?? "";
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain("unsafe-inline");
      expect(answer.headers.get("x-content-type-options")).toBe("nosniff");
      expect(answer.headers.get("referrer-policy")).toBe("no-referrer");
    }
  });

  it("redirects /console to /console/", async () => {
    const answer = await fetch(`${t.url}/console?x=1`, { redirect: "manual" });
    expect(answer.status).toBe(308);
    expect(answer.headers.get("location")).toBe("/console/?x=1");
  });

  it("serves hashed assets with a long cache and their type; a missing asset is 404, not the page", async () => {
    const asset = await fetch(`${t.url}/console/assets/app-3f9a.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(asset.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(await asset.text()).toBe("console.log('app')");
    expect((await fetch(`${t.url}/console/assets/nested/x.css`)).headers.get("content-type")).toBe(
      "text/css; charset=utf-8",
    );
    const missing = await fetch(`${t.url}/console/assets/app-0000.js`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get("content-type")).toContain("application/problem+json");
    const robots = await fetch(`${t.url}/console/robots.txt`);
    expect(await robots.text()).toContain("Disallow");
  });

  it("lists no directory", async () => {
    for (const path of ["/console/assets/", "/console/assets", "/console/assets/nested/"]) {
      const answer = await fetch(`${t.url}${path}`);
      expect(answer.status, path).toBe(404);
      expect(await answer.text()).not.toContain("app-3f9a.js");
    }
  });

  it("never serves a file outside its directory, however the path is written", async () => {
    const paths = [
      "/console/../secret.txt",
      "/console/assets/../../secret.txt",
      "/console/%2e%2e/secret.txt",
      "/console/assets/%2e%2e/%2e%2e/secret.txt",
      "/console/assets/..%2f..%2fsecret.txt",
      "/console/assets/..%5c..%5csecret.txt",
      "/console/assets/%00.js",
      "/console/assets/%E0%A4%A.js",
      "/console/..%2fsecret.txt",
    ];
    for (const path of paths) {
      const answer = await rawGet(t.url, path);
      expect(answer.body, path).not.toContain("SECRET-OUTSIDE");
      expect([400, 404], path).toContain(answer.status);
    }
  });

  it("answers HEAD without a body and refuses other methods with 405", async () => {
    const head = await rawGet(t.url, "/console/accounts", "HEAD");
    expect(head.status).toBe(200);
    expect(head.body).toBe("");
    const post = await fetch(`${t.url}/console/`, { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toContain("GET");
  });

  it("leaves the API and other paths alone", async () => {
    expect((await fetch(`${t.url}/consoles`)).status).toBe(404);
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
  });

  it("says how to build the console when it is not built", async () => {
    rmSync(join(dir, "index.html"));
    const answer = await fetch(`${t.url}/console/accounts`);
    expect(answer.status).toBe(503);
    const problem = (await answer.json()) as { detail: string };
    expect(problem.detail).toContain("npm run build");
  });
});
