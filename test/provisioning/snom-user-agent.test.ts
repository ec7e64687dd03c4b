import { describe, expect, it } from "vitest";
import { parseSnomUserAgent } from "../../src/provisioning/snom/user-agent.js";

describe("snom User-Agent", () => {
  it.each([
    ["Mozilla/4.0 (compatible; snom760-SIP 10.1.54.13 1.1.3-s)", { model: "760", firmware: "10.1.54.13" }],
    [
      "Mozilla/4.0 (compatible; snomD785-SIP 10.1.101.11 2.0.0-s)",
      { model: "D785", firmware: "10.1.101.11" },
    ],
    [
      "Mozilla/4.0 (compatible; snom870-SIP 8.7.5.35 1.1.5-IFX-05.01.12)",
      { model: "870", firmware: "8.7.5.35" },
    ],
  ])("reads model and firmware of %s", (agent, expected) => {
    expect(parseSnomUserAgent(agent)).toEqual(expected);
  });

  it.each([
    undefined,
    "",
    "curl/8.5.0",
    "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0",
    "snom-SIP",
    "snom760-SIP",
  ])("reads nothing from %s", (agent) => {
    expect(parseSnomUserAgent(agent)).toBeNull();
  });
});
