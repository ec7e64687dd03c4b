import { describe, expect, it } from "vitest";
import { digestNamesUri } from "../../src/licensing/client-auth.js";

describe("the digest uri of a license check", () => {
  const header = (uri: string) =>
    `Digest username="1000", realm="a.example", nonce="n", uri=${uri}, response="r"`;

  it("must be the request's own", () => {
    expect(digestNamesUri(header('"/license/check"'), "/license/check")).toBe(true);
    expect(digestNamesUri(header("/license/check"), "/license/check")).toBe(true);
    expect(digestNamesUri(header('"/elsewhere"'), "/license/check")).toBe(false);
    expect(digestNamesUri(header("/elsewhere"), "/license/check")).toBe(false);
    expect(digestNamesUri(`${header('"/license/check"')}, uri="/other"`, "/license/check")).toBe(false);
  });
});
