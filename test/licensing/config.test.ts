import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/load.js";

function problems(license: Record<string, unknown>): string[] {
  try {
    loadConfig({ env: { NODE_ENV: "test" }, overrides: { license } });
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe("license configuration", () => {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const publicPem = publicKey.export({ type: "spki", format: "pem" }).toString();
  const privatePem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();

  it("runs without a vendor by default", () => {
    const config = loadConfig({ env: { NODE_ENV: "test" } });
    expect(config.license.vendorUrl).toBeNull();
  });

  it("takes Ed25519 keys in PEM or raw base64", () => {
    const raw = (publicKey.export({ format: "jwk" }) as { x: string }).x;
    const base64 = Buffer.from(raw, "base64url").toString("base64");
    expect(
      problems({ vendorUrl: "https://lic.example.com", vendorPublicKey: publicPem, signingKey: privatePem }),
    ).toEqual([]);
    expect(problems({ vendorUrl: "https://lic.example.com", vendorPublicKey: base64 })).toEqual([]);
  });

  it("names the key that is missing or not an Ed25519 key", () => {
    expect(problems({ vendorUrl: "https://lic.example.com" }).join("\n")).toMatch(
      /license\.vendorPublicKey.*required/,
    );
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 });
    expect(
      problems({ vendorPublicKey: rsa.publicKey.export({ type: "spki", format: "pem" }).toString() }).join(
        "\n",
      ),
    ).toMatch(/license\.vendorPublicKey.*Ed25519/);
    expect(problems({ signingKey: "not a key" }).join("\n")).toMatch(/license\.signingKey.*Ed25519/);
    expect(problems({ vendorUrl: "ftp://lic.example.com", vendorPublicKey: publicPem }).join("\n")).toMatch(
      /license\.vendorUrl/,
    );
  });
});
