import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { hashPassword, isOutdated, verifyPassword } from "../../src/tenancy/password-hash.js";
import { testConfig } from "../support/config.js";

const defaults = testConfig().signIn.scrypt;

/** What OpenSSL's own scrypt derives for a password, salt and the parameters of a stored hash. */
function opensslScrypt(
  password: string,
  salt: Buffer,
  n: number,
  r: number,
  p: number,
  keyLength: number,
): string {
  const out = execFileSync(
    "openssl",
    [
      "kdf",
      "-keylen",
      String(keyLength),
      "-kdfopt",
      `pass:${password}`,
      "-kdfopt",
      `hexsalt:${salt.toString("hex")}`,
      "-kdfopt",
      `n:${n}`,
      "-kdfopt",
      `r:${r}`,
      "-kdfopt",
      `p:${p}`,
      "-kdfopt",
      `maxmem_bytes:${256 * 1024 * 1024}`,
      "SCRYPT",
    ],
    { encoding: "utf8" },
  );
  return out.trim().replace(/:/g, "").toLowerCase();
}

describe("password hashes", () => {
  it("are scrypt with the configured parameters in the PHC form, and openssl derives the same key", async () => {
    expect(defaults).toEqual({ cost: 15, blockSize: 8, parallelism: 1, keyLength: 32 });
    const hash = await hashPassword("correct horse battery staple", defaults);
    const match = /^\$scrypt\$ln=15,r=8,p=1\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(hash);
    expect(match, hash).not.toBeNull();
    const salt = Buffer.from(match?.[1] as string, "base64");
    const key = Buffer.from(match?.[2] as string, "base64");
    expect(salt).toHaveLength(16);
    expect(key).toHaveLength(32);
    expect(opensslScrypt("correct horse battery staple", salt, 2 ** 15, 8, 1, 32)).toBe(key.toString("hex"));
  });

  it("salt each password, verify only the right one, and name hashes made with other parameters", async () => {
    const a = await hashPassword("the same password", defaults);
    const b = await hashPassword("the same password", defaults);
    expect(a).not.toBe(b);
    expect(await verifyPassword("the same password", a)).toBe(true);
    expect(await verifyPassword("the same password!", a)).toBe(false);
    expect(await verifyPassword("the same password", "not a hash")).toBe(false);
    const older = await hashPassword("the same password", { ...defaults, cost: 12 });
    expect(await verifyPassword("the same password", older)).toBe(true);
    expect(isOutdated(older, defaults)).toBe(true);
    expect(isOutdated(a, defaults)).toBe(false);
  });
});
