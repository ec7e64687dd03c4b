#!/usr/bin/env node
// Compiles TypeScript into dist/ with esbuild: each file transpiled on its own (no bundle), which
// takes well under a second, so the first `npm start` after `npm ci` is quick. Types are checked
// by `npm run typecheck` (tsc), which CI runs before the build. With --if-stale (npm start),
// compiles only when dist/ is missing or older than a source file, and says so, so `npm start`
// never runs stale code. The web console (web/) is built by Vite into dist/console/ the same way:
// always by a plain build, with --if-stale only when dist/console is missing or older than web/.
// --console builds only the console (what the console tests run before they open a browser).
import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { buildConsole } from "./console-build.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const entry = join(root, "dist", "src", "cli.js");
const ifStale = process.argv.includes("--if-stale");
const consoleOnly = process.argv.includes("--console");
const sourceFolders = ["src", "migrations"];

function sourceFiles() {
  const files = [];
  let newest = 0;
  const visit = (path) => {
    const stat = statSync(path);
    if (stat.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name));
    else if (/\.(ts|json)$/.test(path)) {
      newest = Math.max(newest, stat.mtimeMs);
      if (path.endsWith(".ts") && !path.endsWith(".d.ts")) files.push(path);
    }
  };
  for (const part of [...sourceFolders, "tsconfig.json", "tsconfig.build.json"]) {
    if (existsSync(join(root, part))) visit(join(root, part));
  }
  return { files, newest };
}

async function loadEsbuild() {
  try {
    return await import("esbuild");
  } catch {
    return null;
  }
}

async function buildServer() {
  if (ifStale) {
    const built = existsSync(entry) ? statSync(entry).mtimeMs : 0;
    const sourcesPresent = existsSync(join(root, "src"));
    if (built > 0 && (!sourcesPresent || built >= sourceFiles().newest)) return;
    if (!(await loadEsbuild())) {
      if (built > 0) return; // a production install without sources' compiler: run what was built
      console.error(
        "provisiond: dist/ is missing and the compiler (esbuild) is not installed; run `npm ci` then `npm run build`",
      );
      process.exit(1);
    }
    console.error(
      `provisiond: compiling TypeScript (${built ? "dist/ is older than src/" : "first run, dist/ is missing"})...`,
    );
  }

  const esbuild = await loadEsbuild();
  if (!esbuild) {
    console.error("provisiond: esbuild is not installed; run `npm ci`");
    process.exit(1);
  }
  // Only what this step writes: dist/console is the console step's.
  for (const folder of sourceFolders) rmSync(join(root, "dist", folder), { recursive: true, force: true });
  const { files } = sourceFiles();
  try {
    await esbuild.build({
      entryPoints: files.map((file) => relative(root, file)),
      absWorkingDir: root,
      outbase: ".",
      outdir: "dist",
      format: "esm",
      platform: "node",
      target: "node20",
      sourcemap: true,
      tsconfig: "tsconfig.build.json",
      logLevel: "warning",
    });
  } catch {
    // esbuild has printed what failed, with file and line.
    console.error("provisiond: the build failed");
    process.exit(1);
  }
}

if (!consoleOnly) await buildServer();
await buildConsole({ root, ifStale });
