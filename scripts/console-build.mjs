// Builds the web console (web/) with Vite into dist/console/: index.html and content-hashed files
// under assets/, which the server serves at /console/ (src/http/console-files.ts). Vite 8 turns the
// TSX into JavaScript itself (oxc), so no React plugin is needed. Several test files may ask for the
// build at once: a lock directory lets one build while the others wait and then find it fresh.
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";

const lockStaleMs = 5 * 60_000;

function newestSource(root) {
  let newest = 0;
  const visit = (path) => {
    const stat = statSync(path);
    newest = Math.max(newest, stat.mtimeMs);
    if (stat.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name));
  };
  visit(join(root, "web"));
  visit(join(root, "scripts", "console-build.mjs"));
  return newest;
}

function builtAt(outDir) {
  const index = join(outDir, "index.html");
  return existsSync(index) ? statSync(index).mtimeMs : 0;
}

async function loadVite() {
  try {
    return await import("vite");
  } catch {
    return null;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Takes the build lock, waiting while another process holds it; false when the wait ran out. */
async function lock(path) {
  const deadline = Date.now() + lockStaleMs;
  while (Date.now() < deadline) {
    try {
      mkdirSync(path);
      return true;
    } catch (error) {
      if (error.code !== "EEXIST") throw error;
      // A lock left by a build that was killed is taken over.
      if (Date.now() - statSync(path, { throwIfNoEntry: false })?.mtimeMs > lockStaleMs) {
        rmSync(path, { recursive: true, force: true });
        continue;
      }
      await sleep(100);
    }
  }
  return false;
}

export async function buildConsole({ root, ifStale }) {
  const webDir = join(root, "web");
  const outDir = join(root, "dist", "console");
  const sourcesPresent = existsSync(webDir);
  const fresh = () => {
    const built = builtAt(outDir);
    return built > 0 && (!sourcesPresent || built >= newestSource(root));
  };
  if (ifStale && fresh()) return;
  if (!sourcesPresent) {
    console.error("provisiond: web/ is missing: the console cannot be built");
    return;
  }
  // Vite takes NODE_ENV over the mode: the tests' NODE_ENV=test would build React's development
  // runtime (and JSX for it) into the console.
  process.env.NODE_ENV = "production";
  const vite = await loadVite();
  if (!vite) {
    // A production install without Vite still serves what was built; without it, the console says so.
    if (builtAt(outDir) === 0) console.error("provisiond: Vite is not installed: the console is not built");
    return;
  }
  mkdirSync(join(root, "dist"), { recursive: true });
  const lockPath = join(root, "dist", ".console-build.lock");
  if (!(await lock(lockPath))) throw new Error(`the console build lock ${lockPath} is held for too long`);
  try {
    if (ifStale && fresh()) return;
    if (ifStale)
      console.error("provisiond: building the console (dist/console is missing or older than web/)...");
    await vite.build({
      root: webDir,
      mode: "production",
      base: "/console/",
      configFile: false,
      publicDir: false,
      logLevel: "warn",
      clearScreen: false,
      oxc: { jsx: { runtime: "automatic", importSource: "react", development: false } },
      build: {
        outDir,
        emptyOutDir: true,
        assetsDir: "assets",
        sourcemap: false,
        // The CSP allows no data: scripts or inline styles; small files stay files.
        assetsInlineLimit: 0,
        modulePreload: { polyfill: false },
        chunkSizeWarningLimit: 1000,
        rolldownOptions: {
          // react-router marks itself "use client" for server components; in a browser bundle it means nothing.
          onwarn(warning, warn) {
            if (warning.code !== "MODULE_LEVEL_DIRECTIVE") warn(warning);
          },
        },
      },
    });
  } finally {
    rmSync(lockPath, { recursive: true, force: true });
  }
}
