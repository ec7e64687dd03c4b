import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mulawToLinear } from "../../src/sip/g711.js";
import { parseWav, writeWav } from "../../src/sip/wav.js";
import { type ApiClient, apiClient } from "../support/api.js";
import { type SipTestServer, startSipTestServer } from "./support/accounts.js";
import { offer, RtpReceiver, TestPhone } from "./support/phone.js";

interface AnnouncementView {
  case: string;
  language: string;
  source: "uploaded" | "default";
  durationMs: number | null;
  uploadedAt: string | null;
  uploadedBy: string | null;
}
interface Problem {
  errors?: Array<{ path: string; message: string }>;
  detail?: string;
}

/** One second of a 1 kHz tone: nothing like the spoken defaults or their tone pattern. */
function tone(seconds: number, rate = 8000): Int16Array {
  const samples = new Int16Array(Math.round(seconds * rate));
  for (let i = 0; i < samples.length; i++)
    samples[i] = Math.round(12_000 * Math.sin((2 * Math.PI * 1000 * i) / rate));
  return samples;
}

/** A valid header with two channels: what a stereo recording looks like. */
function stereoWav(): Buffer {
  const wav = writeWav(tone(1));
  wav.writeUInt16LE(2, 22);
  wav.writeUInt32LE(8000 * 4, 28);
  wav.writeUInt16LE(4, 32);
  return wav;
}

describe("announcements uploaded by an organisation", () => {
  let server: SipTestServer;
  let announcementsDir: string;
  let companyAdmin: ApiClient;
  let otherAdmin: ApiClient;
  let companyAdminId: string;
  const phones: TestPhone[] = [];
  const ids = new Map<string, string>();
  const password = (username: string) => `password-${username}`;
  const uploaded = tone(1);
  const path = (kind: string, language: string, organisationId?: string) =>
    `/api/v1/announcements/${kind}/${language}${organisationId ? `?organisationId=${organisationId}` : ""}`;

  beforeAll(async () => {
    announcementsDir = mkdtempSync(join(tmpdir(), "announcements-"));
    server = await startSipTestServer({
      sip: { cdrFlushMs: 0, ringTimeoutSeconds: 5, announcementsDir, announcementMaxSeconds: 5 },
    });
    for (const username of ["6001", "6090"]) {
      ids.set(username, await server.createAccount(username, password(username)));
    }
    await server.api.ok("POST", `/api/v1/accounts/${ids.get("6090")}/disable`, { reason: "unpaid" }, 200);

    const adminOf = async (organisationId: string) => {
      const user = await server.api.ok<{ id: string }>("POST", "/api/v1/users", {
        email: `admin-${organisationId}@example.com`,
        name: "Company admin",
        role: "company_admin",
        organisationId,
      });
      const token = await server.api.ok<{ token: string }>("POST", `/api/v1/users/${user.id}/tokens`, {});
      return { id: user.id, client: apiClient(server.url, token.token) };
    };
    const own = await adminOf(server.organisationId);
    companyAdmin = own.client;
    companyAdminId = own.id;
    const other = await server.api.ok<{ id: string }>("POST", "/api/v1/organisations", {
      name: `Other-${process.pid}`,
    });
    otherAdmin = (await adminOf(other.id)).client;
  });

  afterAll(async () => {
    for (const phone of phones) phone.close();
    await server?.stop();
  });

  /** A call from the disabled account: the RTP it is sent, until the final 403. */
  const callFromDisabled = async (): Promise<Buffer[]> => {
    const rtp = await RtpReceiver.open();
    const phone = await TestPhone.caller(server.udp, "6090", password("6090"));
    phones.push(phone);
    await phone.call("6001", { body: offer(rtp.port, [0]) });
    await phone.client.response(183, 10_000);
    await phone.client.response(403, 20_000);
    const packets = [...rtp.packets];
    rtp.close();
    return packets;
  };
  const listed = async (client: ApiClient, query = "") =>
    (await client.ok<{ items: AnnouncementView[] }>("GET", `/api/v1/announcements${query}`)).items;
  const auditCount = async () =>
    (
      await server.api.ok<{ items: unknown[] }>(
        "GET",
        `/api/v1/audit-events?targetId=${server.organisationId}&pageSize=500`,
      )
    ).items.length;

  it("lists every case and language with the defaults before anything is uploaded", async () => {
    const items = await listed(server.api, `?organisationId=${server.organisationId}`);
    expect(items).toHaveLength(10);
    expect(items.every((item) => item.source === "default" && item.durationMs === null)).toBe(true);
    // An operator belongs to no organisation: it names one.
    const unnamed = await server.api.call("GET", "/api/v1/announcements");
    expect(unnamed.status).toBe(400);
    expect((unnamed.json as Problem).errors?.[0]?.path).toBe("query.organisationId");
  });

  it("takes a company admin's WAV upload, lists it and plays it to a disabled caller of the organisation", async () => {
    const put = await companyAdmin.call(
      "PUT",
      path("caller-disabled", "en"),
      writeWav(uploaded),
      "audio/wav",
    );
    expect(put.status, put.text).toBe(200);
    expect(put.json).toMatchObject({
      case: "caller-disabled",
      language: "en",
      source: "uploaded",
      durationMs: 1000,
      uploadedBy: companyAdminId,
    });
    const items = await listed(companyAdmin);
    expect(items.find((item) => item.case === "caller-disabled" && item.language === "en")).toMatchObject({
      source: "uploaded",
      durationMs: 1000,
    });
    expect(items.filter((item) => item.source === "default")).toHaveLength(9);
    const audit = await server.api.ok<{ items: Array<{ action: string }> }>(
      "GET",
      `/api/v1/audit-events?targetId=${server.organisationId}&action=organisation.announcement_uploaded`,
    );
    expect(audit.items).toHaveLength(1);

    const packets = await callFromDisabled();
    // One second is 50 packets of 20 ms; the default announcement is several seconds of speech.
    expect(packets).toHaveLength(50);
    const heard = packets.flatMap((packet) => [...packet.subarray(12)].map(mulawToLinear));
    // Sample by sample the uploaded tone, within what G.711 loses.
    let error = 0;
    for (let i = 0; i < uploaded.length; i++)
      error += Math.abs((heard[i] as number) - (uploaded[i] as number));
    expect(error / uploaded.length).toBeLessThan(12_000 * 0.03);
  }, 30_000);

  it.each([
    ["sampled at 16 kHz", () => writeWav(tone(1, 16_000), 16_000), /8000 Hz/],
    ["stereo", stereoWav, /mono/],
    ["longer than sip.announcementMaxSeconds", () => writeWav(tone(6)), /6\.0 s long; the limit is 5 s/],
    ["not a WAV file", () => Buffer.from("this is not audio at all"), /RIFF\/WAVE/],
    ["empty of audio", () => writeWav(new Int16Array(0)), /no audio/],
  ])("refuses a file %s with 400 naming body, and changes nothing", async (_name, make, reason) => {
    const before = await auditCount();
    const put = await companyAdmin.call("PUT", path("caller-disabled", "en"), make(), "audio/wav");
    expect(put.status, put.text).toBe(400);
    const problem = put.json as Problem;
    expect(problem.errors?.[0]?.path).toBe("body");
    expect(problem.errors?.[0]?.message).toMatch(reason);
    expect(
      (await listed(companyAdmin)).find((item) => item.case === "caller-disabled" && item.language === "en"),
    ).toMatchObject({ source: "uploaded", durationMs: 1000 });
    expect(await auditCount()).toBe(before);
  });

  it("refuses other media types with 415 and bodies far past the limit with 413", async () => {
    const json = await companyAdmin.call("PUT", path("callee-unavailable", "de"), { audio: "x" });
    expect(json.status).toBe(415);
    const huge = await companyAdmin.call(
      "PUT",
      path("callee-unavailable", "de"),
      Buffer.alloc(5 * 16_000 + 64 * 1024 + 1),
      "audio/wav",
    );
    expect(huge.status).toBe(413);
    const unknownCase = await companyAdmin.call("PUT", path("busy", "en"), writeWav(uploaded), "audio/wav");
    expect(unknownCase.status).toBe(400);
    expect((unknownCase.json as Problem).errors?.[0]?.path).toBe("params.case");
    const items = await listed(companyAdmin);
    expect(items.filter((item) => item.source === "uploaded")).toHaveLength(1);
  });

  it("keeps another organisation's company admin out", async () => {
    const before = await auditCount();
    const org = server.organisationId;
    expect((await otherAdmin.call("GET", `/api/v1/announcements?organisationId=${org}`)).status).toBe(404);
    const put = await otherAdmin.call(
      "PUT",
      path("caller-disabled", "en", org),
      writeWav(tone(2)),
      "audio/wav",
    );
    expect(put.status).toBe(404);
    expect((await otherAdmin.call("DELETE", path("caller-disabled", "en", org))).status).toBe(404);
    // Its own organisation's list does not show A's upload.
    expect((await listed(otherAdmin)).every((item) => item.source === "default")).toBe(true);
    expect((await listed(companyAdmin)).find((item) => item.source === "uploaded")).toMatchObject({
      durationMs: 1000,
    });
    expect(await auditCount()).toBe(before);
  });

  it("goes back to the default on DELETE", async () => {
    const removed = await server.api.call("DELETE", path("caller-disabled", "en", server.organisationId));
    expect(removed.status, removed.text).toBe(200);
    expect(removed.json).toMatchObject({ source: "default", durationMs: null });
    expect((await listed(companyAdmin)).every((item) => item.source === "default")).toBe(true);
    expect(
      (await server.api.call("DELETE", path("caller-disabled", "en", server.organisationId))).status,
    ).toBe(404);

    const packets = await callFromDisabled();
    const source = parseWav(readFileSync(join(announcementsDir, "caller-disabled.en.wav")));
    if (!source.ok) throw new Error(source.reason);
    expect(packets).toHaveLength(Math.ceil(source.audio.samples.length / 160));
  }, 30_000);
});
