import { createHash, createPrivateKey, KeyObject, randomBytes, webcrypto } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type CaKeyType,
  generationParams,
  type SigningAlgorithm,
  signingAlgorithmOf,
  signingAlgorithmOfType,
} from "./key-algorithms.js";
import { x509 } from "./x509.js";

export const caFileNames = { certificate: "ca.crt", chain: "ca-chain.pem", key: "ca.key" } as const;

/** A random positive serial of 128 bits (RFC 5280 asks for at least 64 and at most 20 octets). */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] as number) & 0x7f) | 0x40;
  return bytes.toString("hex");
}

/** The material of a CA as the operator gives it (ca import) or `ca init` makes it. */
export interface CaMaterial {
  certificatePem: string;
  /** The CA's certificate first, then its parents up to the root. */
  chainPem: string;
  privateKey: KeyObject;
}

/**
 * The certificate authority: its certificate, the chain up to the root and its private key,
 * kept in one directory (the key PKCS#8-encrypted with the configured passphrase, files 0600).
 */
export class CertificateAuthority {
  readonly algorithm: SigningAlgorithm;
  /** The subject key identifier, for the authority key identifier of what this CA signs. */
  readonly keyId: Buffer;
  /** The CA's subject as DER, the issuer of every certificate and CRL it signs. */
  readonly subjectDer: Buffer;
  readonly chainPem: string;

  private constructor(
    readonly certificate: x509.X509Certificate,
    readonly chain: readonly x509.X509Certificate[],
    readonly privateKey: KeyObject,
    readonly signingKey: webcrypto.CryptoKey,
  ) {
    this.algorithm = signingAlgorithmOf(privateKey);
    const ski = certificate.getExtension(x509.SubjectKeyIdentifierExtension);
    this.keyId = ski ? Buffer.from(ski.keyId, "hex") : Buffer.alloc(0);
    this.subjectDer = Buffer.from(certificate.subjectName.toArrayBuffer());
    this.chainPem = `${chain.map((c) => c.toString("pem")).join("\n")}\n`;
  }

  get fingerprint(): string {
    return sha256Fingerprint(Buffer.from(this.certificate.rawData));
  }

  /** Checks the material (a CA certificate whose public key matches the key) and builds the CA. */
  static async fromMaterial(material: CaMaterial): Promise<CertificateAuthority> {
    const certificate = new x509.X509Certificate(material.certificatePem);
    const list = pemCertificates(material.chainPem).filter(
      (c) => c.serialNumber !== certificate.serialNumber || c.issuer !== certificate.issuer,
    );
    const basic = certificate.getExtension(x509.BasicConstraintsExtension);
    if (!basic?.ca)
      throw new Error("the certificate is not a CA certificate (basicConstraints cA is not set)");
    const usage = certificate.getExtension(x509.KeyUsagesExtension);
    if (usage && !(usage.usages & x509.KeyUsageFlags.keyCertSign)) {
      throw new Error("the CA certificate's key usage does not allow signing certificates");
    }
    const algorithm = signingAlgorithmOf(material.privateKey);
    const signingKey = await webcrypto.subtle.importKey(
      "pkcs8",
      material.privateKey.export({ type: "pkcs8", format: "der" }),
      algorithm.key,
      false,
      ["sign"],
    );
    // The key must be the certificate's: sign something and verify it with the certificate's key.
    const probe = randomBytes(32);
    const signature = await webcrypto.subtle.sign(algorithm.sign, signingKey, probe);
    const publicKey = await certificate.publicKey.export(algorithm.key, ["verify"]);
    if (!(await webcrypto.subtle.verify(algorithm.sign, publicKey, signature, probe))) {
      throw new Error("the private key does not belong to the CA certificate");
    }
    return new CertificateAuthority(certificate, [certificate, ...list], material.privateKey, signingKey);
  }

  /** Reads the CA from its directory; null when there is none yet. */
  static async load(dir: string, passphrase: string): Promise<CertificateAuthority | null> {
    const keyFile = join(dir, caFileNames.key);
    const certFile = join(dir, caFileNames.certificate);
    if (!existsSync(keyFile) && !existsSync(certFile)) return null;
    if (!existsSync(keyFile) || !existsSync(certFile)) {
      throw new Error(
        `the CA in ${dir} is incomplete: ${caFileNames.certificate} and ${caFileNames.key} go together`,
      );
    }
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey({ key: readFileSync(keyFile), format: "pem", passphrase });
    } catch {
      throw new Error(`cannot decrypt ${keyFile}: wrong CA passphrase (pki.caPassphrase)?`);
    }
    const chainFile = join(dir, caFileNames.chain);
    const certificatePem = readFileSync(certFile, "utf8");
    return CertificateAuthority.fromMaterial({
      certificatePem,
      chainPem: existsSync(chainFile) ? readFileSync(chainFile, "utf8") : certificatePem,
      privateKey,
    });
  }

  /** Writes the CA to its directory; the key encrypted with the passphrase, every file 0600. */
  save(dir: string, passphrase: string): void {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const write = (name: string, content: string) => {
      const path = join(dir, name);
      const temporary = `${path}.${process.pid}.tmp`;
      writeFileSync(temporary, content, { mode: 0o600 });
      chmodSync(temporary, 0o600);
      renameSync(temporary, path);
    };
    write(
      caFileNames.key,
      this.privateKey.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase }) as string,
    );
    write(caFileNames.certificate, this.certificate.toString("pem"));
    write(caFileNames.chain, this.chainPem);
  }

  /**
   * A new CA: self-signed (a root), or an intermediate signed by the parent given. The parent's
   * key is used once here and is not kept.
   */
  static async create(options: {
    subject: string;
    keyType: CaKeyType;
    validityDays: number;
    now: Date;
    parent?: CaMaterial;
  }): Promise<CertificateAuthority> {
    const keys = (await webcrypto.subtle.generateKey(generationParams(options.keyType), true, [
      "sign",
      "verify",
    ])) as webcrypto.CryptoKeyPair;
    const notBefore = new Date(options.now.getTime() - 5 * 60_000);
    const notAfter = new Date(options.now.getTime() + options.validityDays * 86_400_000);
    const extensions: x509.Extension[] = [
      new x509.BasicConstraintsExtension(true, options.parent ? 0 : undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ];
    let certificate: x509.X509Certificate;
    let chainPem: string;
    if (options.parent) {
      const parent = await CertificateAuthority.fromMaterial(options.parent);
      if (new Date(parent.certificate.notAfter) < notAfter)
        notAfter.setTime(parent.certificate.notAfter.getTime());
      extensions.push(await x509.AuthorityKeyIdentifierExtension.create(parent.certificate));
      certificate = await x509.X509CertificateGenerator.create({
        serialNumber: randomSerial(),
        subject: options.subject,
        issuer: parent.certificate.subject,
        notBefore,
        notAfter,
        publicKey: keys.publicKey,
        signingKey: parent.signingKey,
        signingAlgorithm: parent.algorithm.sign,
        extensions,
      });
      chainPem = [certificate.toString("pem"), parent.chainPem].join("\n");
    } else {
      certificate = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: randomSerial(),
        name: options.subject,
        notBefore,
        notAfter,
        keys,
        signingAlgorithm: signingAlgorithmOfType(options.keyType).sign,
        extensions,
      });
      chainPem = certificate.toString("pem");
    }
    return CertificateAuthority.fromMaterial({
      certificatePem: certificate.toString("pem"),
      chainPem,
      privateKey: KeyObject.from(keys.privateKey),
    });
  }
}

/** Every certificate in a PEM text, in order. */
export function pemCertificates(text: string): x509.X509Certificate[] {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block) => new x509.X509Certificate(block));
}

/** SHA-256 of the DER, uppercase hex in colon-separated pairs (how openssl and browsers show it). */
export function sha256Fingerprint(der: Buffer): string {
  const hex = createHash("sha256").update(der).digest("hex").toUpperCase();
  return (hex.match(/../g) ?? []).join(":");
}
