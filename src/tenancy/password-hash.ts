import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";

/** scrypt's parameters (RFC 7914): N = 2^cost, r = blockSize, p = parallelism. */
export interface ScryptParameters {
  cost: number;
  blockSize: number;
  parallelism: number;
  keyLength: number;
}

const saltBytes = 16;

/**
 * The PHC string form `$scrypt$ln=15,r=8,p=1$<salt>$<hash>` (base64 without padding): each hash
 * names its own parameters, so raising them in config leaves old hashes readable and they are
 * re-hashed at the next sign-in.
 */
const phcPattern = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

function derive(password: string, salt: Buffer, parameters: ScryptParameters): Promise<Buffer> {
  const N = 2 ** parameters.cost;
  const r = parameters.blockSize;
  const p = parameters.parallelism;
  return new Promise((resolve, reject) => {
    // Node refuses above 32 MiB by default; scrypt itself needs 128 * N * r bytes, plus slack.
    const maxmem = 128 * N * r * 2 + 1024 * 1024;
    scrypt(password.normalize("NFC"), salt, parameters.keyLength, { N, r, p, maxmem }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

const b64 = (bytes: Buffer) => bytes.toString("base64").replace(/=+$/, "");

export async function hashPassword(password: string, parameters: ScryptParameters): Promise<string> {
  const salt = randomBytes(saltBytes);
  const key = await derive(password, salt, parameters);
  return `$scrypt$ln=${parameters.cost},r=${parameters.blockSize},p=${parameters.parallelism}$${b64(salt)}$${b64(key)}`;
}

interface ParsedHash {
  parameters: ScryptParameters;
  salt: Buffer;
  key: Buffer;
}

function parseHash(encoded: string): ParsedHash | null {
  const match = phcPattern.exec(encoded);
  if (!match) return null;
  const key = Buffer.from(match[5] as string, "base64");
  return {
    parameters: {
      cost: Number(match[1]),
      blockSize: Number(match[2]),
      parallelism: Number(match[3]),
      keyLength: key.length,
    },
    salt: Buffer.from(match[4] as string, "base64"),
    key,
  };
}

/** Whether the password matches; the comparison takes the same time wherever the bytes differ. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parsed = parseHash(encoded);
  if (!parsed || parsed.key.length === 0) return false;
  const key = await derive(password, parsed.salt, parsed.parameters);
  return timingSafeEqual(key, parsed.key);
}

/** A hash made with other parameters than the configured ones (to re-hash after a sign-in). */
export function isOutdated(encoded: string, parameters: ScryptParameters): boolean {
  const parsed = parseHash(encoded);
  if (!parsed) return true;
  const p = parsed.parameters;
  return (
    p.cost !== parameters.cost ||
    p.blockSize !== parameters.blockSize ||
    p.parallelism !== parameters.parallelism ||
    p.keyLength !== parameters.keyLength
  );
}

/**
 * A hash of no one's password, verified when the e-mail is unknown or has no password yet, so
 * those answers take as long as a wrong password does.
 */
export async function decoyHash(parameters: ScryptParameters): Promise<string> {
  return hashPassword(randomBytes(18).toString("base64"), parameters);
}
