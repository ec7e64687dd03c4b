import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseWav, writeWav } from "../../src/sip/wav.js";
import { type SipTestServer, startSipTestServer } from "./support/accounts.js";
import { Baresip } from "./support/baresip.js";
import type { CdrView } from "./support/calls.js";
import { realPeerGate } from "./support/tools.js";

/** Real-peer tests: baresip calls baresip through the router, with real RTP between them. */
const gate = realPeerGate("baresip");

const rms = (samples: ArrayLike<number>) => {
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += (samples[i] as number) ** 2;
  return Math.sqrt(sum / Math.max(1, samples.length));
};

describe.skipIf(gate.skip)("baresip calls through the router", () => {
  let server: SipTestServer;
  let announcementsDir: string;
  let tone: string;
  const running: Baresip[] = [];
  const ids = new Map<string, string>();
  const password = (username: string) => `password-${username}`;
  const id = (username: string) => ids.get(username) as string;

  beforeAll(async () => {
    announcementsDir = mkdtempSync(join(tmpdir(), "announcements-"));
    // baresip 1.0 refuses the whole challenge when one of them names an algorithm it lacks: MD5 alone.
    server = await startSipTestServer({ sip: { digestAlgorithms: "MD5", cdrFlushMs: 0, announcementsDir } });
    for (const username of ["7001", "7002", "7003", "7004", "7090"]) {
      ids.set(username, await server.createAccount(username, password(username)));
    }
    await server.api.ok("POST", `/api/v1/accounts/${id("7090")}/disable`, { reason: "unpaid" }, 200);
    // Ten seconds of a 440 Hz tone: what the calling baresip says.
    const samples = new Int16Array(8000 * 10);
    for (let i = 0; i < samples.length; i++)
      samples[i] = Math.round(6000 * Math.sin((2 * Math.PI * 440 * i) / 8000));
    tone = join(announcementsDir, "tone.wav");
    writeFileSync(tone, writeWav(samples));
  });

  afterEach(() => {
    for (const baresip of running.splice(0)) baresip.stop();
  });

  afterAll(async () => {
    await server?.stop();
  });

  const phone = async (username: string, answer = false) => {
    const baresip = await Baresip.start({
      username,
      password: password(username),
      server: server.udp,
      source: tone,
      answer,
    });
    running.push(baresip);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const details = await server.api.ok<{ registrations: unknown[] }>(
        "GET",
        `/api/v1/accounts/${id(username)}`,
      );
      if (details.registrations.length > 0) break;
      if (Date.now() > deadline) throw new Error(`${username} did not register\n${baresip.log()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return baresip;
  };
  const cdrsOf = async (username: string) => {
    await server.server.sip?.flush();
    return (await server.api.ok<{ items: CdrView[] }>("GET", `/api/v1/accounts/${id(username)}/cdrs`)).items;
  };
  const heard = (baresip: Baresip) => {
    const [file] = baresip.recordings();
    if (!file) throw new Error(`no recording\n${baresip.log()}`);
    const wav = parseWav(readFileSync(file));
    if (!wav.ok) throw new Error(wav.reason);
    return wav.audio.samples;
  };

  it("connects baresip to baresip with media, and the caller's hang-up ends the call", async () => {
    const callee = await phone("7002", true);
    const caller = await phone("7001");
    caller.command("dial", "sip:7002@127.0.0.1");
    await caller.waitFor("CALL_ESTABLISHED");
    await callee.waitFor("CALL_ESTABLISHED");
    await new Promise((resolve) => setTimeout(resolve, 2000));
    caller.command("hangup");
    await callee.waitFor("CALL_CLOSED");
    // The callee heard the caller's tone.
    const samples = heard(callee);
    expect(samples.length).toBeGreaterThan(8000);
    expect(rms(samples), callee.log()).toBeGreaterThan(1000);
    const [cdr] = await cdrsOf("7001");
    expect(cdr).toMatchObject({ status: "answered", endedBy: "caller" });
  }, 30_000);

  it("plays a disabled baresip the announcement, and what it records is the announcement", async () => {
    const caller = await Baresip.start({
      username: "7090",
      password: password("7090"),
      server: server.udp,
      source: tone,
    });
    running.push(caller);
    caller.command("dial", "sip:7001@127.0.0.1");
    await caller.waitFor("CALL_CLOSED", 20_000);
    const source = parseWav(readFileSync(join(announcementsDir, "caller-disabled.en.wav")));
    if (!source.ok) throw new Error(source.reason);
    const samples = heard(caller);
    const seconds = samples.length / 8000;
    const expectedSeconds = source.audio.samples.length / 8000;
    expect(Math.abs(seconds - expectedSeconds), caller.log()).toBeLessThan(0.5);
    const expected = rms(source.audio.samples);
    expect(Math.abs(rms(samples) - expected) / expected).toBeLessThan(0.2);
    const [cdr] = await cdrsOf("7090");
    expect(cdr).toMatchObject({ status: "forbidden", announcement: "caller-disabled" });
  }, 30_000);

  it("ends an established call on both phones when the caller is disabled", async () => {
    const callee = await phone("7004", true);
    const caller = await phone("7003");
    caller.command("dial", "sip:7004@127.0.0.1");
    await caller.waitFor("CALL_ESTABLISHED");
    await callee.waitFor("CALL_ESTABLISHED");
    await server.api.ok("POST", `/api/v1/accounts/${id("7003")}/disable`, { reason: "lost phone" }, 200);
    await caller.waitFor("CALL_CLOSED");
    await callee.waitFor("CALL_CLOSED");
    const [cdr] = await cdrsOf("7003");
    expect(cdr).toMatchObject({ status: "answered", endedBy: "system" });
  }, 30_000);
});
