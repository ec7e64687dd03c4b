import { createPublicKey, type KeyObject } from "node:crypto";
import { ValidationError } from "../errors.js";
import { x509 } from "./x509.js";

/** What is kept of a CSR: its public key, once the CSR's signature proves the client holds the private key. */
export interface CheckedCsr {
  publicKey: x509.PublicKey;
  keyType: string;
}

const curves: Record<string, string> = { prime256v1: "EC P-256", secp384r1: "EC P-384" };

function refuse(path: string, message: string): never {
  throw new ValidationError([{ path, message }]);
}

function describeKey(key: KeyObject, path: string): string {
  if (key.asymmetricKeyType === "rsa") {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 2048) refuse(path, `the CSR's RSA key has ${bits} bits; at least 2048 are required`);
    return `RSA ${bits}`;
  }
  if (key.asymmetricKeyType === "ec") {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? "unknown";
    const name = curves[curve];
    if (!name) refuse(path, `the CSR's key is on curve ${curve}; accepted: P-256, P-384`);
    return name;
  }
  return refuse(
    path,
    `the CSR's key is ${key.asymmetricKeyType ?? "of an unknown type"}; accepted: ECDSA P-256, P-384, RSA 2048 or more`,
  );
}

/**
 * Parses a PKCS#10 request (PEM, or DER in base64), checks its key type and size and verifies its
 * signature. Everything else it asks for (subject, extensions, SANs) is ignored: the server
 * decides what a certificate says.
 */
export async function checkCsr(text: string, path = "body.csr"): Promise<CheckedCsr> {
  let request: x509.Pkcs10CertificateRequest;
  try {
    const trimmed = text.trim();
    request = new x509.Pkcs10CertificateRequest(
      trimmed.startsWith("-----BEGIN") ? trimmed : Buffer.from(trimmed, "base64"),
    );
  } catch {
    return refuse(path, "is not a PKCS#10 certificate request (PEM, or DER in base64)");
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(request.publicKey.rawData), format: "der", type: "spki" });
  } catch {
    return refuse(path, "the CSR's public key cannot be read");
  }
  const keyType = describeKey(key, path);
  let valid = false;
  try {
    valid = await request.verify();
  } catch {
    valid = false;
  }
  if (!valid) refuse(path, "the CSR's signature does not verify with its own public key");
  return { publicKey: request.publicKey, keyType };
}
