import { describe, expect, it } from "vitest";
import { digestHa1, digestResponse } from "../../src/auth/digest.js";
import { DigestSessions } from "../../src/auth/digest-sessions.js";

const realm = "a.example";
const uri = "/license/check";
const ha1 = digestHa1("SHA-256", "1000", realm, "secret-Pass-1");

/** A nonce as src/auth/digest.ts makes them: issue time in the first 8 bytes. */
function nonceIssuedAt(ms: number): string {
  const raw = Buffer.alloc(36);
  raw.writeBigUInt64BE(BigInt(ms), 0);
  return raw.toString("base64url");
}

function params(nonce: string, nc: number, overrides: Record<string, string> = {}, password = ha1) {
  const ncHex = nc.toString(16).padStart(8, "0");
  const response = digestResponse({
    algorithm: "SHA-256",
    ha1: password,
    method: "POST",
    uri,
    nonce,
    qop: "auth",
    nc: ncHex,
    cnonce: "c",
  });
  return new Map(
    Object.entries({
      username: "1000",
      realm,
      nonce,
      uri,
      algorithm: "SHA-256",
      qop: "auth",
      nc: ncHex,
      cnonce: "c",
      response,
      ...overrides,
    }),
  );
}

describe("digest sessions of license checks", () => {
  let now = 1_000_000;
  const sessions = new DigestSessions(60_000, () => now);
  const nonce = nonceIssuedAt(now);
  const verify = (p: Map<string, string>, current = ha1) =>
    sessions.verify({ params: p, method: "POST", uri, realm, currentHa1: async () => current });

  it("knows nothing of a nonce until the full verification opened it", async () => {
    expect((await verify(params(nonce, 2))).kind).toBe("unknown");
    sessions.open(params(nonce, 1), ha1, "SHA-256");
    expect((await verify(params(nonce, 2))).kind).toBe("ok");
  });

  it("refuses counts already used, wrong responses and headers that do not fit", async () => {
    expect((await verify(params(nonce, 2))).kind).toBe("replayed");
    expect((await verify(params(nonce, 1))).kind).toBe("replayed");
    expect(await verify(params(nonce, 3, {}, digestHa1("SHA-256", "1000", realm, "guess")))).toEqual({
      kind: "invalid",
    });
    expect((await verify(params(nonce, 3, { username: "2000" }))).kind).toBe("stale");
    expect((await verify(params(nonce, 3, { algorithm: "MD5" }))).kind).toBe("stale");
    expect((await verify(params(nonce, 3, { uri: "/other" }))).kind).toBe("stale");
    expect((await verify(params(nonce, 3), "changed-ha1")).kind).toBe("stale");
    expect((await verify(params(nonce, 3))).kind).toBe("ok");
  });

  it("ends with its nonce", async () => {
    now += 60_001;
    expect((await verify(params(nonce, 10))).kind).toBe("unknown");
  });
});
