import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./tools.js";

export interface BaresipEvent {
  type?: string;
  class?: string;
  param?: string;
  [key: string]: unknown;
}

/**
 * A headless baresip (1.0, Debian) for call tests: its audio source is a WAV file (aufile), what it
 * hears is written to WAV files (sndfile, in its folder), and it is driven over ctrl_tcp
 * (netstring JSON commands, events back).
 */
export class Baresip {
  readonly events: BaresipEvent[] = [];
  private output = "";
  private socket: Socket | null = null;
  private buffer = Buffer.alloc(0);

  private constructor(
    readonly child: ChildProcess,
    readonly dir: string,
    private readonly ctrlPort: number,
  ) {
    child.stdout?.on("data", (chunk: Buffer) => {
      this.output += chunk.toString();
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      this.output += chunk.toString();
    });
  }

  static async start(options: {
    username: string;
    password: string;
    server: { port: number };
    source: string;
    answer?: boolean;
  }): Promise<Baresip> {
    const dir = mkdtempSync(join(tmpdir(), "baresip-call-"));
    const ctrlPort = await freePort();
    writeFileSync(
      join(dir, "config"),
      [
        "poll_method epoll",
        "sip_listen 127.0.0.1:0",
        "module_path /usr/lib/baresip/modules",
        "module g711.so",
        "module aufile.so",
        "module sndfile.so",
        "module_app account.so",
        "module_app menu.so",
        "module_app ctrl_tcp.so",
        `ctrl_tcp_listen 127.0.0.1:${ctrlPort}`,
        `snd_path ${dir}`,
        `audio_source aufile,${options.source}`,
        "audio_player aufile,/dev/null",
        "rtp_timeout 0",
        "",
      ].join("\n"),
    );
    writeFileSync(
      join(dir, "accounts"),
      `<sip:${options.username}@127.0.0.1;transport=udp>;auth_pass=${options.password};outbound="sip:127.0.0.1:${options.server.port};transport=udp";regint=600;audio_codecs=PCMU;answermode=${options.answer ? "auto" : "manual"}\n`,
    );
    const child = spawn("baresip", ["-f", dir], { stdio: ["ignore", "pipe", "pipe"] });
    const baresip = new Baresip(child, dir, ctrlPort);
    await baresip.connect();
    return baresip;
  }

  private async connect(): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        this.socket = await new Promise<Socket>((resolve, reject) => {
          const socket = connect(this.ctrlPort, "127.0.0.1", () => resolve(socket));
          socket.once("error", reject);
        });
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    this.socket.on("error", () => {});
    this.socket.on("data", (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      for (;;) {
        const colon = this.buffer.indexOf(":");
        if (colon < 0) return;
        const length = Number(this.buffer.subarray(0, colon).toString());
        if (this.buffer.length < colon + 1 + length + 1) return;
        const text = this.buffer.subarray(colon + 1, colon + 1 + length).toString();
        this.buffer = this.buffer.subarray(colon + 1 + length + 1);
        try {
          this.events.push(JSON.parse(text) as BaresipEvent);
        } catch {
          // not JSON: ignore
        }
      }
    });
  }

  command(command: string, params = ""): void {
    const json = JSON.stringify({ command, params, token: String(Date.now()) });
    this.socket?.write(`${Buffer.byteLength(json)}:${json},`);
  }

  async waitFor(type: string, timeoutMs = 10_000): Promise<BaresipEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find((event) => event.type === type);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`baresip: no ${type} event in time\n${this.log()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** The WAV files sndfile wrote of what this phone heard (decoded audio). */
  recordings(): string[] {
    return readdirSync(this.dir)
      .filter((file) => file.startsWith("dump-") && file.endsWith("-dec.wav"))
      .map((file) => join(this.dir, file));
  }

  log(): string {
    return `${this.output}\nevents: ${JSON.stringify(this.events)}`;
  }

  stop(): void {
    this.socket?.destroy();
    this.child.kill("SIGKILL");
  }
}
