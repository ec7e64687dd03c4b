import { describe, expect, it } from "vitest";
import { smsLength } from "../../src/messaging/sms-encoding.js";

describe("SMS length", () => {
  it("counts GSM-7 septets, extension characters twice, and splits at 160 then 153", () => {
    expect(smsLength("a".repeat(160))).toEqual({ encoding: "GSM-7", units: 160, segments: 1 });
    expect(smsLength("a".repeat(161))).toEqual({ encoding: "GSM-7", units: 161, segments: 2 });
    expect(smsLength("€".repeat(80))).toEqual({ encoding: "GSM-7", units: 160, segments: 1 });
    expect(smsLength("a".repeat(306)).segments).toBe(2);
    expect(smsLength("a".repeat(307)).segments).toBe(3);
    expect(smsLength("Grüße à Zürich, Ça va? ñ").encoding).toBe("GSM-7");
  });

  it("falls back to UCS-2 for any other character: 70, then 67 per part", () => {
    expect(smsLength(`${"a".repeat(69)}✓`)).toEqual({ encoding: "UCS-2", units: 70, segments: 1 });
    expect(smsLength(`${"a".repeat(70)}✓`)).toEqual({ encoding: "UCS-2", units: 71, segments: 2 });
    expect(smsLength("ç").encoding).toBe("UCS-2"); // lower-case ç is not in GSM 03.38 (only Ç is)
  });
});
