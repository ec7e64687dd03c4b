import type { KeyObject, webcrypto } from "node:crypto";

/** The key types the CA itself can have: ECDSA P-256 (the default) or RSA 3072. */
export const caKeyTypes = ["ecdsa-p256", "rsa-3072"] as const;
export type CaKeyType = (typeof caKeyTypes)[number];

/** WebCrypto parameters for generating, importing and signing with a key of a type. */
export interface SigningAlgorithm {
  /** For subtle.generateKey and importKey. */
  key: webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams;
  /** For X509CertificateGenerator and subtle.sign. */
  sign: webcrypto.Algorithm | webcrypto.EcdsaParams;
  /** Node's digest name, for crypto.sign over a CRL. */
  hash: "sha256" | "sha384";
  /** The DER AlgorithmIdentifier's OID and whether it carries a NULL parameter (RSA). */
  oid: string;
  nullParameter: boolean;
}

const ecdsa = (curve: "P-256" | "P-384"): SigningAlgorithm => {
  const hash = curve === "P-256" ? "SHA-256" : "SHA-384";
  return {
    key: { name: "ECDSA", namedCurve: curve },
    sign: { name: "ECDSA", hash } as webcrypto.EcdsaParams,
    hash: curve === "P-256" ? "sha256" : "sha384",
    oid: curve === "P-256" ? "1.2.840.10045.4.3.2" : "1.2.840.10045.4.3.3",
    nullParameter: false,
  };
};

const rsa: SigningAlgorithm = {
  key: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
  sign: { name: "RSASSA-PKCS1-v1_5" },
  hash: "sha256",
  oid: "1.2.840.113549.1.1.11",
  nullParameter: true,
};

export function generationParams(
  type: CaKeyType,
): webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams {
  return type === "rsa-3072"
    ? {
        name: "RSASSA-PKCS1-v1_5",
        hash: "SHA-256",
        modulusLength: 3072,
        publicExponent: new Uint8Array([1, 0, 1]),
      }
    : { name: "ECDSA", namedCurve: "P-256" };
}

/** How a CA key signs, from the key itself (an imported CA can be P-384 or RSA of any size). */
export function signingAlgorithmOf(key: KeyObject): SigningAlgorithm {
  if (key.asymmetricKeyType === "rsa") return rsa;
  if (key.asymmetricKeyType === "ec") {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === "prime256v1") return ecdsa("P-256");
    if (curve === "secp384r1") return ecdsa("P-384");
  }
  throw new Error(
    `a CA key must be RSA or ECDSA P-256/P-384, not ${key.asymmetricKeyType} ${key.asymmetricKeyDetails?.namedCurve ?? ""}`.trim(),
  );
}

export function signingAlgorithmOfType(type: CaKeyType): SigningAlgorithm {
  return type === "rsa-3072" ? rsa : ecdsa("P-256");
}
