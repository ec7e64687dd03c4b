import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as sdp from "sdp-transform";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mulawToLinear } from "../../src/sip/g711.js";
import type { SipResponse } from "../../src/sip/stack/message.js";
import { parseWav } from "../../src/sip/wav.js";
import { type SipTestServer, startSipTestServer } from "./support/accounts.js";
import type { CdrView } from "./support/calls.js";
import { branch } from "./support/client.js";
import { offer, RtpReceiver, TestPhone } from "./support/phone.js";

const rms = (samples: ArrayLike<number>) => {
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += (samples[i] as number) ** 2;
  return Math.sqrt(sum / Math.max(1, samples.length));
};

describe("the router: announcements, disabling during a call, refusals", () => {
  let server: SipTestServer;
  let announcementsDir: string;
  const ids = new Map<string, string>();
  const password = (username: string) => `password-${username}`;
  const id = (username: string) => ids.get(username) as string;
  const phones: TestPhone[] = [];

  beforeAll(async () => {
    announcementsDir = mkdtempSync(join(tmpdir(), "announcements-"));
    server = await startSipTestServer({
      sip: { digestAlgorithms: "MD5,SHA-256", cdrFlushMs: 0, ringTimeoutSeconds: 5, announcementsDir },
    });
    for (const username of ["5001", "5002", "5003", "5004", "5005", "5006", "5090", "5091"]) {
      ids.set(username, await server.createAccount(username, password(username)));
    }
    for (const username of ["5090", "5091"])
      await server.api.ok("POST", `/api/v1/accounts/${id(username)}/disable`, { reason: "unpaid" }, 200);
  });

  afterAll(async () => {
    for (const phone of phones) phone.close();
    await server?.stop();
  });

  const caller = async (username: string) => {
    const phone = await TestPhone.caller(server.udp, username, password(username));
    phones.push(phone);
    return phone;
  };
  const registered = async (username: string) => {
    const phone = await TestPhone.register(server.udp, username, password(username));
    phones.push(phone);
    return phone;
  };
  const cdrsOf = async (username: string) => {
    await server.server.sip?.flush();
    return (await server.api.ok<{ items: CdrView[] }>("GET", `/api/v1/accounts/${id(username)}/cdrs`)).items;
  };

  it("plays a disabled caller the announcement as RTP after 183, then answers 403 with a Reason", async () => {
    const rtp = await RtpReceiver.open();
    const phone = await caller("5090");
    await phone.call("5001", { body: offer(rtp.port, [0, 8]) });
    const progress = await phone.client.response(183, 10_000);
    const answer = sdp.parse(progress.body.toString());
    expect(answer.media[0]).toMatchObject({ type: "audio", direction: "sendonly", ptime: 20 });
    expect(String(answer.media[0]?.payloads)).toBe("0");
    const final = await phone.client.response(403, 20_000);
    expect(final.headers.get("reason")).toMatch(/cause=403;text="account disabled: unpaid"/);

    const source = parseWav(readFileSync(join(announcementsDir, "caller-disabled.en.wav")));
    if (!source.ok) throw new Error(source.reason);
    const packets = rtp.packets;
    rtp.close();
    expect(packets.length).toBe(Math.ceil(source.audio.samples.length / 160));
    const first = packets[0] as Buffer;
    expect(first[0]).toBe(0x80);
    expect(first[1]).toBe(0x80); // marker bit, payload type 0 (PCMU)
    const ssrc = first.readUInt32BE(8);
    for (let i = 1; i < packets.length; i++) {
      const packet = packets[i] as Buffer;
      const previous = packets[i - 1] as Buffer;
      expect(packet[1]).toBe(0);
      expect(packet.readUInt32BE(8)).toBe(ssrc);
      expect(packet.readUInt16BE(2)).toBe((previous.readUInt16BE(2) + 1) & 0xffff);
      expect(packet.readUInt32BE(4)).toBe((previous.readUInt32BE(4) + 160) % 2 ** 32);
      expect(packet.length).toBe(12 + 160);
    }
    // What arrived is the announcement: the same loudness as the file (G.711 keeps it within a few %).
    const heard = packets.flatMap((packet) => [...packet.subarray(12)].map(mulawToLinear));
    const expected = rms(source.audio.samples);
    expect(expected).toBeGreaterThan(100);
    expect(Math.abs(rms(heard.slice(0, source.audio.samples.length)) - expected) / expected).toBeLessThan(
      0.1,
    );

    const [cdr] = await cdrsOf("5090");
    expect(cdr).toMatchObject({ status: "forbidden", sipStatus: 403, announcement: "caller-disabled" });
  }, 30_000);

  it("plays the caller of a disabled account 'not available' in PCMA, then 480", async () => {
    const rtp = await RtpReceiver.open();
    const phone = await caller("5002");
    await phone.call("5091", { body: offer(rtp.port, [8]) });
    const progress = await phone.client.response(183, 10_000);
    expect(String(sdp.parse(progress.body.toString()).media[0]?.payloads)).toBe("8");
    const final = await phone.client.response(480, 20_000);
    expect(final.headers.get("reason")).toMatch(/cause=480/);
    expect(rtp.packets.length).toBeGreaterThan(10);
    expect((rtp.packets[0] as Buffer)[1]).toBe(0x80 | 8);
    rtp.close();
    const cdrs = await cdrsOf("5091");
    expect(cdrs[0]).toMatchObject({ status: "unavailable", announcement: "callee-unavailable" });
  }, 30_000);

  it("answers 488 to an offer with neither PCMU nor PCMA", async () => {
    const phone = await caller("5090");
    await phone.call("5001", { body: offer(40000, [18]) });
    const final = await phone.client.response(488);
    expect(final.headers.get("warning")).toMatch(/PCMU nor PCMA/);
  });

  it("stops the announcement on CANCEL and answers 487", async () => {
    const rtp = await RtpReceiver.open();
    const phone = await caller("5090");
    const call = await phone.call("5001", { body: offer(rtp.port, [0]) });
    await phone.client.response(183, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    phone.client.send(
      call.text
        .split("\r\n")
        .filter((line) => !/^(Content-Type|Proxy-Authorization|Contact)/.test(line))
        .join("\r\n")
        .replace(/^INVITE/, "CANCEL")
        .replace("CSeq: 2 INVITE", "CSeq: 2 CANCEL")
        .replace(/Content-Length: \d+\r\n\r\n[\s\S]*$/, "Content-Length: 0\r\n\r\n"),
    );
    await phone.client.response(200);
    await phone.client.response(487);
    const sent = rtp.packets.length;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(rtp.packets.length).toBe(sent);
    expect(sent).toBeLessThan(40);
    rtp.close();
  });

  it("ends a call in progress with a BYE to both sides when an account is disabled", async () => {
    const callee = await registered("5004");
    const phone = await caller("5003");
    const call = await phone.call("5004", { body: offer(40002, [0]) });
    const invite = await callee.nextRequest("INVITE");
    expect(invite.headers.get("proxy-authorization")).toBeUndefined();
    expect(invite.headers.values("record-route")).toHaveLength(1);
    callee.reply(invite, 200, "OK", { toTag: "callee1", body: offer(40004, [0]) });
    const ok = (await phone.client.response(200)) as SipResponse;
    phone.inDialog("ACK", ok, call, 2);
    await callee.nextRequest("ACK");

    await server.api.ok("POST", `/api/v1/accounts/${id("5003")}/disable`, { reason: "lost phone" }, 200);
    const byeToCaller = await phone.nextRequest("BYE");
    const byeToCallee = await callee.nextRequest("BYE");
    expect(byeToCaller.headers.get("reason")).toMatch(/account disabled/);
    expect(byeToCallee.headers.get("from")).toMatch(/tag=ft/);
    expect(byeToCaller.headers.get("from")).toMatch(/tag=callee1/);
    phone.reply(byeToCaller, 200, "OK");
    callee.reply(byeToCallee, 200, "OK");
    const [cdr] = await cdrsOf("5003");
    expect(cdr).toMatchObject({ status: "answered", endedBy: "system" });
    const details = await server.api.ok<{ registrations: unknown[] }>(
      "GET",
      `/api/v1/accounts/${id("5003")}`,
    );
    expect(details.registrations).toEqual([]);
  });

  it("never makes two calls or two records of a retransmitted INVITE", async () => {
    const callee = await registered("5006");
    const phone = await caller("5005");
    const call = await phone.call("5006", { body: offer(40006, [0]) });
    phone.client.send(call.text);
    phone.client.send(call.text);
    const invite = await callee.nextRequest("INVITE");
    // The proxy retransmits its own INVITE until the callee answers; it never sends a second one.
    const branches = new Set([invite.headers.values("via")[0]]);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    for (const more of callee.client.received.splice(0)) {
      if (more.kind === "request" && more.method === "INVITE") branches.add(more.headers.values("via")[0]);
    }
    expect(branches.size).toBe(1);
    callee.reply(invite, 486, "Busy Here", { toTag: "busy1" });
    const busy = await phone.client.response(486);
    phone.ackNon2xx(`sip:5006@127.0.0.1`, call, busy);
    const cdrs = await cdrsOf("5005");
    expect(cdrs).toHaveLength(1);
    expect(cdrs[0]).toMatchObject({ status: "busy" });
  });

  it("refuses calls that would leave the domain, and a wrong password gets a new challenge", async () => {
    const phone = await caller("5001");
    await phone.call("5002", { domain: "example.net" });
    const refused = await phone.client.response(403);
    expect(refused.headers.get("warning")).toMatch(/no trunk/);
    await phone.call("5002", { method: "MESSAGE", password: "wrong" });
    await phone.client.response(407);
  });

  it("answers 481 to a CANCEL or BYE that belongs to nothing, and 483 when Max-Forwards is 0", async () => {
    const phone = await caller("5001");
    const lines = (method: string, extra: string[]) =>
      [
        `${method} sip:5002@127.0.0.1 SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${phone.client.localPort};branch=${branch()};rport`,
        "From: <sip:5001@127.0.0.1>;tag=x1",
        `Call-ID: nothing-${Math.random()}`,
        `CSeq: 1 ${method}`,
        ...extra,
        "Content-Length: 0",
        "",
        "",
      ].join("\r\n");
    phone.client.send(lines("CANCEL", ["To: <sip:5002@127.0.0.1>", "Max-Forwards: 70"]));
    expect((await phone.client.response()).status).toBe(481);
    phone.client.send(lines("BYE", ["To: <sip:5002@127.0.0.1>", "Max-Forwards: 70"]));
    expect((await phone.client.response()).status).toBe(481);
    phone.client.send(lines("MESSAGE", ["To: <sip:5002@127.0.0.1>", "Max-Forwards: 0"]));
    expect((await phone.client.response()).status).toBe(483);
  });

  it("answers OPTIONS to the server itself with what it serves", async () => {
    const phone = await caller("5001");
    phone.client.send(
      [
        "OPTIONS sip:127.0.0.1 SIP/2.0",
        `Via: SIP/2.0/UDP 127.0.0.1:${phone.client.localPort};branch=${branch()};rport`,
        "Max-Forwards: 70",
        "From: <sip:5001@127.0.0.1>;tag=o1",
        "To: <sip:127.0.0.1>",
        "Call-ID: options-1",
        "CSeq: 1 OPTIONS",
        "Content-Length: 0",
        "",
        "",
      ].join("\r\n"),
    );
    const answer = await phone.client.response(200);
    expect(answer.headers.get("allow")).toMatch(/INVITE.*CANCEL.*BYE.*MESSAGE/);
  });
});
