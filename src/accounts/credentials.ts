import { createCipheriv, createDecipheriv, createHash, randomBytes, randomInt } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../logger.js";

export type HashAlgorithm = "MD5" | "SHA-256";

/** HA1 = H(username:realm:password) as RFC 2617/7616 define it, lower-case hex. */
export function sipHa1(username: string, realm: string, password: string, algorithm: HashAlgorithm): string {
  return createHash(algorithm === "MD5" ? "md5" : "sha256")
    .update(`${username}:${realm}:${password}`)
    .digest("hex");
}

/** Both HA1 columns of an account row for a username, realm and password. */
export function ha1Columns(username: string, realm: string, password: string) {
  return {
    ha1_md5: sipHa1(username, realm, password, "MD5"),
    ha1_sha256: sipHa1(username, realm, password, "SHA-256"),
  };
}

// No quote, backslash or look-alike characters (0/O, 1/l/I): passwords are read aloud and typed on phones.
const passwordAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

/** A random password of 20 characters (about 117 bits). */
export function generatePassword(length = 20): string {
  let password = "";
  for (let i = 0; i < length; i++) password += passwordAlphabet[randomInt(passwordAlphabet.length)];
  return password;
}

/** A random numeric username of 10 digits, never starting with 0 (dial plans drop leading zeros). */
export function generateUsername(): string {
  return String(randomInt(1_000_000_000, 10_000_000_000));
}

const keyBytes = 32;
const ivBytes = 12;
const version = "v1";

/**
 * AES-256-GCM for the copy of a SIP password that formats needing the clear password (SNOM XML)
 * read. The account id is the associated data, so a ciphertext copied onto another account's row
 * does not decrypt.
 */
export class CredentialCipher {
  private readonly key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== keyBytes) throw new Error(`the credential key must be ${keyBytes} bytes`);
    this.key = key;
  }

  encrypt(plaintext: string, accountId: string): string {
    const iv = randomBytes(ivBytes);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    cipher.setAAD(Buffer.from(accountId));
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return [
      version,
      iv.toString("base64url"),
      body.toString("base64url"),
      cipher.getAuthTag().toString("base64url"),
    ].join(".");
  }

  decrypt(stored: string, accountId: string): string {
    const [v, iv, body, tag] = stored.split(".");
    if (v !== version || !iv || body === undefined || !tag) throw new Error("unknown credential format");
    const decipher = createDecipheriv("aes-256-gcm", this.key, Buffer.from(iv, "base64url"));
    decipher.setAAD(Buffer.from(accountId));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    return Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]).toString(
      "utf8",
    );
  }
}

/** Reads a configured key: 64 hex digits or 32 bytes in base64/base64url. */
export function parseCredentialKey(text: string): Buffer | null {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, "hex");
  const decoded = Buffer.from(trimmed, "base64url");
  return decoded.length === keyBytes ? decoded : null;
}

/**
 * The configured credential key or, when none is configured, the one kept in
 * `<dataDir>/credential.key` (made on first use, readable by the owner only). Several processes
 * sharing one PostgreSQL must share the key, so they need it configured.
 */
export function loadCredentialKey(
  options: { configured: string | null; dataDir: string; sharedDatabase: boolean },
  logger: Logger,
): Buffer {
  if (options.configured) {
    const key = parseCredentialKey(options.configured);
    if (!key) throw new Error("secrets.credentialKey must be 32 bytes: 64 hex digits or base64");
    return key;
  }
  const path = join(options.dataDir, "credential.key");
  if (existsSync(path)) {
    const key = parseCredentialKey(readFileSync(path, "utf8"));
    if (!key) throw new Error(`${path} does not hold a 32-byte key`);
    return key;
  }
  mkdirSync(options.dataDir, { recursive: true });
  const key = randomBytes(keyBytes);
  writeFileSync(path, `${key.toString("hex")}\n`, { mode: 0o600, flag: "wx" });
  chmodSync(path, 0o600);
  logger.warn(
    { path, sharedDatabase: options.sharedDatabase },
    options.sharedDatabase
      ? "no secrets.credentialKey configured: made one in the data directory; every process sharing this database needs the same key (PROVISIOND_CREDENTIAL_KEY)"
      : "no secrets.credentialKey configured: made one in the data directory; back it up with the database",
  );
  return key;
}
