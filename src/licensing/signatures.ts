import { createHash, createPublicKey, type KeyObject, sign, verify } from "node:crypto";

/**
 * Ed25519 signatures of the license protocol (docs/license-protocol.md): the vendor's over its
 * answers, this server's over the envelopes it gives clients.
 */

/** The bytes a vendor signs: `Date` header, LF, request path, LF, then the body exactly as sent. */
export function vendorSignedMessage(date: string, path: string, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${date}\n${path}\n`, "utf8"), body]);
}

/** A public key given as PEM (SPKI) or as the raw 32 bytes in base64 / base64url. */
export function parseEd25519PublicKey(text: string): KeyObject {
  const trimmed = text.trim();
  const key = trimmed.startsWith("-----BEGIN")
    ? createPublicKey(trimmed)
    : createPublicKey({
        key: { kty: "OKP", crv: "Ed25519", x: rawToBase64url(trimmed) },
        format: "jwk",
      });
  if (key.asymmetricKeyType !== "ed25519") throw new Error("not an Ed25519 public key");
  return key;
}

function rawToBase64url(text: string): string {
  const raw = Buffer.from(text, text.includes("-") || text.includes("_") ? "base64url" : "base64");
  if (raw.length !== 32) throw new Error("a raw Ed25519 public key has 32 bytes");
  return raw.toString("base64url");
}

export function rawPublicKey(key: KeyObject): Buffer {
  const jwk = key.export({ format: "jwk" }) as { x?: string };
  if (!jwk.x) throw new Error("not an Ed25519 key");
  return Buffer.from(jwk.x, "base64url");
}

/** A short, stable name for a public key: the first 16 hex digits of SHA-256 of its raw bytes. */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash("sha256").update(rawPublicKey(publicKey)).digest("hex").slice(0, 16);
}

export function ed25519Sign(privateKey: KeyObject, message: Buffer): string {
  return sign(null, message, privateKey).toString("base64");
}

export function ed25519Verify(publicKey: KeyObject, message: Buffer, signatureBase64: string): boolean {
  const signature = Buffer.from(signatureBase64, "base64");
  if (signature.length !== 64) return false;
  try {
    return verify(null, message, publicKey, signature);
  } catch {
    return false;
  }
}
