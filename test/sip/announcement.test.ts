import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as sdp from "sdp-transform";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/logger.js";
import { answerSdp, readOffer } from "../../src/sip/announcement.js";
import { AnnouncementFiles } from "../../src/sip/announcement-files.js";
import { encodeG711, linearToAlaw, linearToMulaw, mulawToLinear } from "../../src/sip/g711.js";
import { parseWav, writeWav } from "../../src/sip/wav.js";
import { haveTool } from "./support/tools.js";

const offerText = (media: string) =>
  ["v=0", "o=- 1 1 IN IP4 192.0.2.9", "s=-", "c=IN IP4 192.0.2.9", "t=0 0", media, ""].join("\r\n");

describe("announcement parts", () => {
  it("picks the first G.711 codec of the offer, by number or by rtpmap", () => {
    expect(readOffer(Buffer.from(offerText("m=audio 4000 RTP/AVP 18 8 0")))).toEqual({
      address: "192.0.2.9",
      port: 4000,
      codec: "PCMA",
    });
    expect(
      readOffer(Buffer.from(`${offerText("m=audio 4002 RTP/AVP 96")}a=rtpmap:96 PCMU/8000\r\n`)),
    ).toMatchObject({
      codec: "PCMU",
    });
    expect(readOffer(Buffer.from(offerText("m=audio 4000 RTP/AVP 18 9")))).toBe("no_codec");
    expect(readOffer(Buffer.from(offerText("m=audio 0 RTP/AVP 0")))).toBe("no_codec");
    expect(readOffer(Buffer.alloc(0))).toBe("no_offer");
  });

  it("answers with one send-only stream on our address", () => {
    const answer = sdp.parse(answerSdp({ address: "127.0.0.1", port: 30000 }, "PCMA").toString());
    expect(answer.connection?.ip).toBe("127.0.0.1");
    expect(answer.media[0]).toMatchObject({ type: "audio", port: 30000, direction: "sendonly", ptime: 20 });
    expect(answer.media[0]?.rtp).toEqual([{ payload: 8, codec: "PCMA", rate: 8000 }]);
  });

  it("encodes G.711 as the standard's reference values", () => {
    expect(linearToMulaw(0)).toBe(0xff);
    expect(linearToMulaw(-1)).toBe(0x7f);
    expect(linearToMulaw(32767)).toBe(0x80);
    expect(linearToAlaw(0)).toBe(0xd5);
    expect(linearToAlaw(32767)).toBe(0xaa);
    expect(linearToAlaw(-32768)).toBe(0x2a);
    for (const sample of [0, 100, -100, 1000, -5000, 20000, -32000]) {
      const back = mulawToLinear(linearToMulaw(sample));
      expect(Math.abs(back - sample)).toBeLessThanOrEqual(Math.max(8, Math.abs(sample) * 0.07));
    }
    expect(encodeG711(new Int16Array([0, 0]), "PCMU")).toEqual(Buffer.from([0xff, 0xff]));
  });

  it("reads 8 kHz mono 16-bit WAV and says what is wrong with anything else", () => {
    const samples = new Int16Array([1, -2, 3]);
    const parsed = parseWav(writeWav(samples));
    expect(parsed.ok && [...parsed.audio.samples]).toEqual([1, -2, 3]);
    expect(parseWav(writeWav(samples, 16000))).toEqual({ ok: false, reason: "must be sampled at 8000 Hz" });
    expect(parseWav(Buffer.from("not a wav file at all"))).toEqual({
      ok: false,
      reason: "not a RIFF/WAVE file",
    });
  });

  it.skipIf(!haveTool("espeak-ng") || !haveTool("sox"))(
    "generates each default announcement once with espeak-ng and sox",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "announcements-"));
      const files = new AnnouncementFiles(dir, createLogger("silent"));
      const [first, again] = await Promise.all([
        files.samples("callee-unavailable", "fr"),
        files.samples("callee-unavailable", "fr"),
      ]);
      expect(again).toBe(first);
      const seconds = first.length / 8000;
      expect(seconds).toBeGreaterThan(1);
      expect(seconds).toBeLessThan(10);
      expect(parseWav(readFileSync(files.pathOf("callee-unavailable", "fr"))).ok).toBe(true);
    },
  );
});
