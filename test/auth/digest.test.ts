import { describe, expect, it } from "vitest";
import {
  type DigestAlgorithm,
  DigestAuthenticator,
  digestHa1,
  digestResponse,
  parseDigestParams,
} from "../../src/auth/digest.js";
import { ManualClock } from "../../src/clock.js";

const realm = "sip.example.org";
const users: Record<string, string> = { alice: "wonderland", bob: "builder" };

function credentials(username: string) {
  const password = users[username];
  if (password === undefined) return Promise.resolve(null);
  return Promise.resolve({
    ha1Md5: digestHa1("MD5", username, realm, password),
    ha1Sha256: digestHa1("SHA-256", username, realm, password),
  });
}

function nonceOf(challenge: string): string {
  const params = parseDigestParams(challenge);
  const nonce = params?.get("nonce");
  if (!nonce) throw new Error(`no nonce in ${challenge}`);
  return nonce;
}

function authorization(options: {
  username: string;
  password: string;
  nonce: string;
  algorithm?: DigestAlgorithm;
  nc?: string;
  realm?: string;
  method?: string;
}): string {
  const algorithm = options.algorithm ?? "MD5";
  const nc = options.nc ?? "00000001";
  const uri = "sip:sip.example.org";
  const cnonce = "0a4f113b";
  const response = digestResponse({
    algorithm,
    ha1: digestHa1(algorithm, options.username, options.realm ?? realm, options.password),
    method: options.method ?? "REGISTER",
    uri,
    nonce: options.nonce,
    qop: "auth",
    nc,
    cnonce,
  });
  return `Digest username="${options.username}", realm="${options.realm ?? realm}", nonce="${options.nonce}", uri="${uri}", response="${response}", algorithm=${algorithm}, qop=auth, nc=${nc}, cnonce="${cnonce}"`;
}

function setup() {
  const clock = new ManualClock();
  const digest = new DigestAuthenticator({ secret: "test secret", nonceTtlMs: 60_000, clock });
  return { clock, digest };
}

describe("digest challenge", () => {
  it("offers SHA-256 first, then MD5, with qop=auth and one signed nonce", () => {
    const { digest } = setup();
    const values = digest.challenge(realm);
    expect(values).toHaveLength(2);
    expect(values[0]).toMatch(
      /^Digest realm="sip\.example\.org", nonce="[A-Za-z0-9_-]+", algorithm=SHA-256, qop="auth"$/,
    );
    expect(values[1]).toContain("algorithm=MD5");
    expect(nonceOf(values[0] as string)).toBe(nonceOf(values[1] as string));
    expect(digest.challenge(realm, { stale: true })[0]).toContain("stale=true");
    expect(nonceOf(digest.challenge(realm)[0] as string)).not.toBe(nonceOf(values[0] as string));
  });
});

describe("digest verification", () => {
  for (const algorithm of ["MD5", "SHA-256"] as const) {
    it(`accepts a correct ${algorithm} response and names the user and algorithm`, async () => {
      const { digest } = setup();
      const nonce = nonceOf(digest.challenge(realm)[0] as string);
      const result = await digest.verify({
        authorization: authorization({ username: "alice", password: "wonderland", nonce, algorithm }),
        method: "REGISTER",
        realm,
        credentials,
      });
      expect(result).toEqual({ ok: true, username: "alice", algorithm });
    });
  }

  it("answers a wrong password and an unknown user alike", async () => {
    const { digest } = setup();
    const nonce = nonceOf(digest.challenge(realm)[0] as string);
    const wrong = await digest.verify({
      authorization: authorization({ username: "alice", password: "guess", nonce }),
      method: "REGISTER",
      realm,
      credentials,
    });
    const unknown = await digest.verify({
      authorization: authorization({ username: "mallory", password: "guess", nonce }),
      method: "REGISTER",
      realm,
      credentials,
    });
    expect(wrong).toMatchObject({ ok: false, stale: false, reason: "invalid credentials" });
    expect(unknown).toMatchObject({ ok: false, stale: false, reason: "invalid credentials" });
  });

  it("refuses the wrong method, realm or a tampered nonce", async () => {
    const { digest } = setup();
    const nonce = nonceOf(digest.challenge(realm)[0] as string);
    const good = authorization({ username: "alice", password: "wonderland", nonce });
    expect((await digest.verify({ authorization: good, method: "INVITE", realm, credentials })).ok).toBe(
      false,
    );
    expect(
      (await digest.verify({ authorization: good, method: "REGISTER", realm: "other.example", credentials }))
        .ok,
    ).toBe(false);
    const forged = `${nonce.slice(0, -2)}${nonce.endsWith("AA") ? "BB" : "AA"}`;
    const result = await digest.verify({
      authorization: authorization({ username: "alice", password: "wonderland", nonce: forged }),
      method: "REGISTER",
      realm,
      credentials,
    });
    expect(result).toMatchObject({ ok: false, stale: false });
    const otherRealmNonce = nonceOf(digest.challenge("other.example")[0] as string);
    const crossRealm = await digest.verify({
      authorization: authorization({ username: "alice", password: "wonderland", nonce: otherRealmNonce }),
      method: "REGISTER",
      realm,
      credentials,
    });
    expect(crossRealm).toMatchObject({ ok: false, reason: "invalid nonce" });
  });

  it("refuses a replayed nonce-count and accepts a higher one", async () => {
    const { digest } = setup();
    const nonce = nonceOf(digest.challenge(realm)[0] as string);
    const first = authorization({ username: "alice", password: "wonderland", nonce, nc: "00000001" });
    expect((await digest.verify({ authorization: first, method: "REGISTER", realm, credentials })).ok).toBe(
      true,
    );
    const replay = await digest.verify({ authorization: first, method: "REGISTER", realm, credentials });
    expect(replay).toMatchObject({ ok: false, reason: "nonce count replayed", stale: true });
    const next = authorization({ username: "alice", password: "wonderland", nonce, nc: "00000002" });
    expect((await digest.verify({ authorization: next, method: "REGISTER", realm, credentials })).ok).toBe(
      true,
    );
  });

  it("says stale=true for an expired nonce only when the credentials are right", async () => {
    const { digest, clock } = setup();
    const nonce = nonceOf(digest.challenge(realm)[0] as string);
    clock.advance(61_000);
    const right = await digest.verify({
      authorization: authorization({ username: "alice", password: "wonderland", nonce }),
      method: "REGISTER",
      realm,
      credentials,
    });
    expect(right).toMatchObject({ ok: false, stale: true, reason: "nonce expired" });
    const wrong = await digest.verify({
      authorization: authorization({ username: "alice", password: "nope", nonce }),
      method: "REGISTER",
      realm,
      credentials,
    });
    expect(wrong).toMatchObject({ ok: false, stale: false });
  });

  it("accepts nonces from another instance that shares the secret", async () => {
    const clock = new ManualClock();
    const a = new DigestAuthenticator({ secret: Buffer.from("shared"), nonceTtlMs: 60_000, clock });
    const b = new DigestAuthenticator({ secret: Buffer.from("shared"), nonceTtlMs: 60_000, clock });
    const c = new DigestAuthenticator({ secret: Buffer.from("other"), nonceTtlMs: 60_000, clock });
    const nonce = nonceOf(a.challenge(realm)[0] as string);
    const auth = authorization({ username: "bob", password: "builder", nonce });
    expect((await b.verify({ authorization: auth, method: "REGISTER", realm, credentials })).ok).toBe(true);
    expect((await c.verify({ authorization: auth, method: "REGISTER", realm, credentials })).ok).toBe(false);
  });

  it("refuses a response without qop, and malformed headers, without throwing", async () => {
    const { digest } = setup();
    const nonce = nonceOf(digest.challenge(realm)[0] as string);
    const noQop = `Digest username="alice", realm="${realm}", nonce="${nonce}", uri="sip:x", response="${"0".repeat(32)}"`;
    for (const value of [
      noQop,
      "Basic YWxpY2U6d29uZGVybGFuZA==",
      'Digest username="unterminated',
      "",
      "Digest ,,,=",
    ]) {
      const result = await digest.verify({ authorization: value, method: "REGISTER", realm, credentials });
      expect(result.ok).toBe(false);
    }
  });

  it("keeps refusing replays after it forgot old nonces to stay within its memory bound", async () => {
    const clock = new ManualClock();
    const digest = new DigestAuthenticator({ secret: "s", nonceTtlMs: 60_000, clock, maxTrackedNonces: 2 });
    const used: string[] = [];
    for (let i = 0; i < 6; i++) {
      const nonce = nonceOf(digest.challenge(realm)[0] as string);
      clock.advance(1);
      const auth = authorization({ username: "alice", password: "wonderland", nonce });
      expect((await digest.verify({ authorization: auth, method: "REGISTER", realm, credentials })).ok).toBe(
        true,
      );
      used.push(nonce);
    }
    for (const nonce of [used[0], used[3], used[5]]) {
      const replay = authorization({ username: "alice", password: "wonderland", nonce: nonce as string });
      const result = await digest.verify({ authorization: replay, method: "REGISTER", realm, credentials });
      expect(result).toMatchObject({ ok: false, stale: true });
    }
  });

  it("forgets nonce-counts a lifetime after use, by generations, and still refuses the expired nonces", async () => {
    const { digest, clock } = setup();
    const nonce = nonceOf(digest.challenge(realm)[0] as string);
    const auth = authorization({ username: "alice", password: "wonderland", nonce });
    expect((await digest.verify({ authorization: auth, method: "REGISTER", realm, credentials })).ok).toBe(
      true,
    );
    for (let i = 0; i < 3; i++) {
      clock.advance(61_000);
      const fresh = nonceOf(digest.challenge(realm)[0] as string);
      const ok = authorization({ username: "bob", password: "builder", nonce: fresh });
      expect((await digest.verify({ authorization: ok, method: "REGISTER", realm, credentials })).ok).toBe(
        true,
      );
    }
    expect(
      await digest.verify({ authorization: auth, method: "REGISTER", realm, credentials }),
    ).toMatchObject({
      ok: false,
      stale: true,
    });
  });
});
