import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { packageRoot } from "../../src/package-info.js";

const cliPath = join(packageRoot, "src", "cli.ts");

export interface CliRun {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Runs `provisiond <args>` from the TypeScript sources, in a process of its own; `stdin` is written to it and closed. */
export function runCli(
  args: string[],
  env: Record<string, string>,
  options: { stdin?: string } = {},
): CliRun {
  const child = spawn(process.execPath, ["--import", "tsx", cliPath, ...args], {
    cwd: packageRoot,
    env: { PATH: process.env.PATH ?? "", NODE_ENV: "test", PROVISIOND_LOG_LEVEL: "info", ...env },
    stdio: [options.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"],
  });
  if (options.stdin !== undefined) child.stdin?.end(options.stdin);
  let out = "";
  let err = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    out += chunk.toString("utf8");
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    err += chunk.toString("utf8");
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Waits for the server's "listening" log line and returns its URL. */
export async function listeningUrl(run: CliRun, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const match = /"url":"(http:\/\/[^"]+)".*"msg":"provisiond listening"/.exec(run.stdout());
    if (match?.[1]) return match[1];
    if (run.child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`server did not start:\n${run.stdout()}\n${run.stderr()}`);
}
