#!/usr/bin/env node
// Compiles TypeScript into dist/. With --if-stale (npm start), compiles only when dist/ is
// missing or older than a source file, and says so, so `npm start` never runs stale code.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const entry = join(root, "dist", "src", "cli.js");
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
const ifStale = process.argv.includes("--if-stale");

function newestSourceTime() {
  let newest = 0;
  const visit = (path) => {
    const stat = statSync(path);
    if (stat.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name));
    else if (/\.(ts|json)$/.test(path)) newest = Math.max(newest, stat.mtimeMs);
  };
  for (const part of ["src", "migrations", "tsconfig.json", "tsconfig.build.json"]) {
    if (existsSync(join(root, part))) visit(join(root, part));
  }
  return newest;
}

if (ifStale) {
  const built = existsSync(entry) ? statSync(entry).mtimeMs : 0;
  const sourcesPresent = existsSync(join(root, "src"));
  if (built > 0 && (!sourcesPresent || built >= newestSourceTime())) process.exit(0);
  if (!existsSync(tsc)) {
    if (built > 0) process.exit(0); // a production install without sources' compiler: run what was built
    console.error(
      "provisiond: dist/ is missing and TypeScript is not installed; run `npm ci` then `npm run build`",
    );
    process.exit(1);
  }
  console.error(
    `provisiond: compiling TypeScript (${built ? "dist/ is older than src/" : "first run, dist/ is missing"})...`,
  );
}

rmSync(join(root, "dist"), { recursive: true, force: true });
const result = spawnSync(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json")], {
  stdio: "inherit",
});
if (result.status !== 0) {
  console.error("provisiond: the TypeScript build failed");
  process.exit(result.status ?? 1);
}
