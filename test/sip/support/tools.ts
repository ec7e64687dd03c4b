import { spawn, spawnSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";

/** Whether a real-peer tool is installed. .ci/run installs them, so CI fails when one is missing. */
export function haveTool(command: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

/** Run real-peer tests when the tool is there; in CI a missing tool is a failure, never a skip. */
export function realPeerGate(command: string): { skip: boolean } {
  const present = haveTool(command);
  if (!present && process.env.CI)
    throw new Error(`${command} is not installed: .ci/run should have installed it`);
  return { skip: !present };
}

/** A port free on loopback for both UDP and TCP right now. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve) => {
      const server = createServer();
      server.listen(0, "127.0.0.1", () => {
        const address = server.address();
        const found = typeof address === "object" && address ? address.port : 0;
        server.close(() => resolve(found));
      });
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const socket = createSocket("udp4");
      socket.once("error", () => resolve(false));
      socket.bind(port, "127.0.0.1", () => socket.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
}

export const scenarioDir = join(import.meta.dirname, "..", "scenarios");

export interface SippResult {
  exitCode: number | null;
  successful: number;
  failed: number;
  retransmissions: number;
  output: string;
}

/** Runs one sipp scenario against provisiond and reads its closing statistics. */
export async function runSipp(options: {
  scenario: string;
  target: { address: string; port: number };
  transport: "udp" | "tcp";
  users: Array<[username: string, password: string, domain: string, ...more: string[]]>;
  calls?: number;
  /** The port sipp sends from (and, for a callee, listens on); a free one when not given. */
  localPort?: number;
  rate?: number;
  extra?: string[];
  timeoutSeconds?: number;
}): Promise<SippResult> {
  const dir = mkdtempSync(join(tmpdir(), "sipp-"));
  const inf = join(dir, "users.csv");
  writeFileSync(inf, `SEQUENTIAL\n${options.users.map((u) => u.join(";")).join("\n")}\n`);
  const localPort = options.localPort ?? (await freePort());
  const args = [
    `${options.target.address}:${options.target.port}`,
    "-sf",
    isAbsolute(options.scenario) ? options.scenario : join(scenarioDir, options.scenario),
    "-inf",
    inf,
    "-i",
    "127.0.0.1",
    "-p",
    String(localPort),
    "-t",
    options.transport === "udp" ? "u1" : "t1",
    "-m",
    String(options.calls ?? options.users.length),
    "-r",
    String(options.rate ?? 50),
    "-timeout",
    `${options.timeoutSeconds ?? 30}s`,
    "-timeout_error",
    "-nostdin",
    "-trace_stat",
    "-stf",
    join(dir, "stat.csv"),
    "-trace_err",
    "-error_file",
    join(dir, "errors.log"),
    ...(options.extra ?? []),
  ];
  const child = spawn("sipp", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exitCode = await new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  let successful = 0;
  let failed = 0;
  let retransmissions = 0;
  try {
    const rows = readFileSync(join(dir, "stat.csv"), "utf8").trim().split("\n");
    const header = (rows[0] ?? "").split(";");
    const last = (rows[rows.length - 1] ?? "").split(";");
    const value = (name: string) => Number(last[header.indexOf(name)] ?? 0);
    successful = value("SuccessfulCall(C)");
    failed = value("FailedCall(C)");
    retransmissions = value("Retransmissions(C)");
  } catch {
    // No statistics file: sipp failed to start; the output says why.
  }
  for (const file of readdirSync(dir)) {
    if (file.endsWith(".log"))
      output += `\n--- ${file}\n${readFileSync(join(dir, file), "utf8").slice(0, 4000)}`;
  }
  return { exitCode, successful, failed, retransmissions, output };
}

/** A self-signed certificate for 127.0.0.1, valid one day, in a new temporary folder. */
export function selfSignedCertificate(prefix: string): { certFile: string; keyFile: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const certFile = join(dir, "cert.pem");
  const keyFile = join(dir, "key.pem");
  const openssl = spawnSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-keyout",
      keyFile,
      "-out",
      certFile,
    ],
    { stdio: "ignore" },
  );
  if (openssl.status !== 0) throw new Error("openssl could not make a test certificate");
  return { certFile, keyFile };
}
