import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { packageRoot } from "../../src/package-info.js";

/**
 * Builds dist/console when it is missing or older than web/ (a fresh clone, a changed page), so
 * `npm test` passes without a separate build; after `npm run build` (CI) this only compares times.
 * Test files that ask at once wait for one build (the script holds a lock).
 */
export function ensureConsoleBuilt(): void {
  execFileSync(process.execPath, [join(packageRoot, "scripts", "build.mjs"), "--console", "--if-stale"], {
    cwd: packageRoot,
    stdio: ["ignore", "inherit", "inherit"],
    timeout: 120_000,
  });
}

/**
 * Debian's Chromium, headless, with a new profile of its own (launch() makes a fresh user data
 * directory and removes it on close), nothing it would fetch by itself.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
