import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/load.js";

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig({ env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error("expected the configuration to be refused");
}

describe("sip configuration", () => {
  it("listens on UDP and TCP 5060 and TLS 5061 by default, on loopback (all interfaces in production)", () => {
    expect(loadConfig({ env: {} }).sip.listen).toEqual([
      { transport: "udp", host: "127.0.0.1", port: 5060 },
      { transport: "tcp", host: "127.0.0.1", port: 5060 },
      { transport: "tls", host: "127.0.0.1", port: 5061 },
    ]);
    expect(loadConfig({ env: { NODE_ENV: "production" } }).sip.listen[0]).toEqual({
      transport: "udp",
      host: "0.0.0.0",
      port: 5060,
    });
    // Tests start servers in parallel: SIP stays off unless a test asks for it.
    expect(loadConfig({ env: { NODE_ENV: "test" } }).sip.enabled).toBe(false);
  });

  it("reads PROVISIOND_SIP_LISTEN as transport:host:port items, IPv6 in brackets", () => {
    const config = loadConfig({
      env: {
        PROVISIOND_SIP_LISTEN: "udp:127.0.0.1:5060, TCP:127.0.0.1:5060,tls:[::1]:5061,ws:127.0.0.1:8088",
      },
    });
    expect(config.sip.listen).toEqual([
      { transport: "udp", host: "127.0.0.1", port: 5060 },
      { transport: "tcp", host: "127.0.0.1", port: 5060 },
      { transport: "tls", host: "::1", port: 5061 },
      { transport: "ws", host: "127.0.0.1", port: 8088 },
    ]);
    expect(loadConfig({ env: { PROVISIOND_SIP_ENABLED: "false" } }).sip.enabled).toBe(false);
    expect(loadConfig({ env: { PROVISIOND_SIP_DIGEST_ALGORITHMS: "md5" } }).sip.digestAlgorithms).toEqual([
      "MD5",
    ]);
  });

  it("refuses a bad listen item, algorithm or expiry range, naming the key", () => {
    expect(problemsOf({ PROVISIOND_SIP_LISTEN: "sctp:127.0.0.1:5060" }).join("\n")).toMatch(
      /sip\.listen \(from PROVISIOND_SIP_LISTEN\).*sctp:127\.0\.0\.1:5060/,
    );
    expect(problemsOf({ PROVISIOND_SIP_LISTEN: "udp:127.0.0.1:70000" }).join("\n")).toMatch(/sip\.listen/);
    expect(problemsOf({ PROVISIOND_SIP_DIGEST_ALGORITHMS: "SHA-512" }).join("\n")).toMatch(
      /sip\.digestAlgorithms/,
    );
    expect(problemsOf({ PROVISIOND_SIP_ENABLED: "perhaps" }).join("\n")).toMatch(/sip\.enabled/);
  });

  it("removes bindings of lost connections by default, takes aliases, and refuses a bad alias", () => {
    const defaults = loadConfig({ env: {} }).sip;
    expect(defaults.handleLostConnections).toBe(true);
    expect(defaults.aliases).toEqual([]);
    // The shipped default offers only what every tested client handles.
    expect(defaults.digestAlgorithms).toEqual(["MD5"]);
    const set = loadConfig({
      env: {
        PROVISIOND_SIP_HANDLE_LOST_CONNECTIONS: "false",
        PROVISIOND_SIP_ALIASES: "SIP.Example.com, [::1]",
      },
    }).sip;
    expect(set.handleLostConnections).toBe(false);
    expect(set.aliases).toEqual(["sip.example.com", "[::1]"]);
    expect(problemsOf({ PROVISIOND_SIP_ALIASES: "bad host!" }).join("\n")).toMatch(/sip\.aliases/);
  });
});
