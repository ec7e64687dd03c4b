import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SipTestServer } from "./accounts.js";
import { freePort, runSipp, type SippResult, scenarioDir } from "./tools.js";

export interface CdrView {
  id: string;
  caller: string;
  callee: string;
  startedAt: string;
  answeredAt: string | null;
  endedAt: string | null;
  durationSeconds: number | null;
  status: string;
  sipStatus: number | null;
  endedBy: string | null;
  announcement: string | null;
}

/** A scenario file with EXPECTED_STATUS replaced (call_refused.xml, message.xml). */
export function scenarioExpecting(name: string, status: number): string {
  const dir = mkdtempSync(join(tmpdir(), "sipp-scenario-"));
  const path = join(dir, name.replace(".xml", `_${status}.xml`));
  writeFileSync(
    path,
    readFileSync(join(scenarioDir, name), "utf8").replaceAll("EXPECTED_STATUS", String(status)),
  );
  return path;
}

/** sipp callers and callees around one provisiond: callees register from the port they then listen on. */
export class SippCalls {
  constructor(
    private readonly server: SipTestServer,
    private readonly passwordOf: (username: string) => string,
  ) {}

  /** Registers a callee over UDP from a fresh port and returns the port. */
  async registerCallee(username: string): Promise<number> {
    const port = await freePort();
    const result = await runSipp({
      scenario: "register_only.xml",
      target: this.server.udp,
      transport: "udp",
      users: [[username, this.passwordOf(username), this.server.sipDomain]],
      localPort: port,
    });
    if (result.successful !== 1) throw new Error(`callee ${username} did not register:\n${result.output}`);
    return port;
  }

  /** A sipp server scenario on a callee's port, for one call; resolves when it ends. */
  callee(scenario: string, port: number, timeoutSeconds = 20): Promise<SippResult> {
    return runSipp({
      scenario,
      target: this.server.udp,
      transport: "udp",
      users: [["callee", "-", this.server.sipDomain]],
      calls: 1,
      localPort: port,
      timeoutSeconds,
    });
  }

  /** One call (or MESSAGE) from a caller to a callee. */
  call(
    scenario: string,
    caller: string,
    callee: string,
    transport: "udp" | "tcp" = "udp",
    timeoutSeconds = 20,
  ): Promise<SippResult> {
    return runSipp({
      scenario,
      target: transport === "udp" ? this.server.udp : this.server.tcp,
      transport,
      users: [[caller, this.passwordOf(caller), this.server.sipDomain, callee]],
      timeoutSeconds,
    });
  }

  async cdrsOf(accountId: string): Promise<CdrView[]> {
    await this.server.server.sip?.flush();
    const page = await this.server.api.ok<{ items: CdrView[] }>("GET", `/api/v1/accounts/${accountId}/cdrs`);
    return page.items;
  }
}

export const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
