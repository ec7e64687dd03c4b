import { readFile, stat } from "node:fs/promises";
import { extname, join, resolve, sep } from "node:path";
import type { Context, Next } from "koa";
import { DependencyUnavailableError, MethodNotAllowedError, NotFoundError } from "../errors.js";
import { packageRoot } from "../package-info.js";

/** Where `scripts/build.mjs` writes the console: the same place whether the server runs from src/ or dist/. */
export const defaultConsoleDir = join(packageRoot, "dist", "console");

export const consolePath = "/console";

/**
 * The console talks to this origin only; no inline script or style, so an injected string can
 * never run. frame-ancestors keeps the console out of other sites' frames (clickjacking of
 * "Delete"), and no referrer leaves a password link's token in another site's logs.
 */
export const consoleSecurityHeaders: Readonly<Record<string, string>> = {
  "Content-Security-Policy": [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; "),
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Referrer-Policy": "no-referrer",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Resource-Policy": "same-origin",
};

const contentTypes: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".txt": "text/plain; charset=utf-8",
  ".woff2": "font/woff2",
  ".map": "application/json",
};

/** Vite names every file under assets/ by its content hash: it never changes under its name. */
const immutable = "public, max-age=31536000, immutable";

/**
 * Serves the built console at /console/: files under assets/ as they are (long cache), any other
 * path inside the console as index.html, so the browser's router handles /console/accounts/<id>
 * after a reload. Nothing outside the directory is reachable and a directory is never listed.
 */
export function consoleFiles(options: { dir: string | null }) {
  const root = resolve(options.dir ?? defaultConsoleDir);

  async function regularFile(path: string): Promise<boolean> {
    try {
      return (await stat(path)).isFile();
    } catch {
      return false;
    }
  }

  async function send(ctx: Context, path: string, cacheControl: string): Promise<void> {
    const body = await readFile(path);
    ctx.status = 200;
    ctx.set(consoleSecurityHeaders);
    ctx.set("Cache-Control", cacheControl);
    ctx.type = contentTypes[extname(path).toLowerCase()] ?? "application/octet-stream";
    // Koa leaves the body out of a HEAD answer itself.
    ctx.body = body;
  }

  async function sendIndex(ctx: Context): Promise<void> {
    const index = join(root, "index.html");
    if (!(await regularFile(index))) {
      throw new DependencyUnavailableError(
        "the console is not built: run `npm run build` (it writes dist/console), or set console.dir",
      );
    }
    // Always revalidated: a new release must reach a browser that has the old page open.
    await send(ctx, index, "no-cache");
  }

  return async function serveConsole(ctx: Context, next: Next): Promise<void> {
    const { path } = ctx;
    if (path !== consolePath && !path.startsWith(`${consolePath}/`)) return next();
    // The access log and the duration metric label requests by route template: one for the console.
    (ctx as Context & { _matchedRoute?: string })._matchedRoute = `${consolePath}/*`;
    if (ctx.method !== "GET" && ctx.method !== "HEAD") throw new MethodNotAllowedError(["GET", "HEAD"]);
    if (path === consolePath) {
      ctx.status = 308;
      ctx.redirect(`${consolePath}/${ctx.querystring ? `?${ctx.querystring}` : ""}`);
      return;
    }
    // Each segment is decoded on its own, so an encoded `/`, `..`, backslash or NUL is refused
    // before the file system sees it; the resolved path must then still be inside the root.
    const segments: string[] = [];
    for (const raw of path.slice(consolePath.length + 1).split("/")) {
      let segment: string;
      try {
        segment = decodeURIComponent(raw);
      } catch {
        throw new NotFoundError(`no console file at ${path}`);
      }
      if (segment === ".." || segment === "." || /[/\\\0]/.test(segment)) {
        throw new NotFoundError(`no console file at ${path}`);
      }
      segments.push(segment);
    }
    const file = resolve(root, ...segments);
    if (file !== root && !file.startsWith(root + sep)) throw new NotFoundError(`no console file at ${path}`);

    if (segments[0] === "assets") {
      // A missing asset is a 404, not the page: a stale page asking for an old chunk must fail loudly.
      if (!(await regularFile(file))) throw new NotFoundError(`no console file at ${path}`);
      await send(ctx, file, immutable);
      return;
    }
    if (segments.length === 1 && segments[0] !== "" && segments[0] !== "index.html") {
      if (await regularFile(file)) {
        await send(ctx, file, "no-cache");
        return;
      }
    }
    await sendIndex(ctx);
  };
}
