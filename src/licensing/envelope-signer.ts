import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from "node:crypto";
import type { Clock } from "../clock.js";
import type { Database } from "../db/database.js";
import { ed25519Sign, keyIdOf, rawPublicKey } from "./signatures.js";
import { licenseStore } from "./store.js";

/**
 * This server's Ed25519 key for the envelopes it answers license checks with. From
 * license.signingKey when configured; otherwise generated on the first start and kept in the
 * database, so every process sharing the database signs with the same key and restarts keep it.
 */
export class EnvelopeSigner {
  readonly keyId: string;
  readonly publicKeyPem: string;
  readonly publicKeyRaw: string;

  private constructor(
    private readonly privateKey: KeyObject,
    readonly publicKey: KeyObject,
  ) {
    this.keyId = keyIdOf(publicKey);
    this.publicKeyPem = publicKey.export({ type: "spki", format: "pem" }).toString();
    this.publicKeyRaw = rawPublicKey(publicKey).toString("base64url");
  }

  static async load(configured: string | null, database: Database, clock: Clock): Promise<EnvelopeSigner> {
    if (configured) return EnvelopeSigner.fromPrivateKey(createPrivateKey(configured));
    const stored = await licenseStore.signingKey(database.knex);
    if (stored) return EnvelopeSigner.fromPrivateKey(createPrivateKey(stored.private_key_pem));
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const kept = await licenseStore.saveSigningKeyOnce(
      database.knex,
      {
        private_key_pem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
        public_key_pem: publicKey.export({ type: "spki", format: "pem" }).toString(),
      },
      clock.now(),
    );
    return EnvelopeSigner.fromPrivateKey(createPrivateKey(kept.private_key_pem));
  }

  static fromPrivateKey(privateKey: KeyObject): EnvelopeSigner {
    if (privateKey.asymmetricKeyType !== "ed25519")
      throw new Error("license.signingKey must be an Ed25519 private key");
    return new EnvelopeSigner(privateKey, createPublicKey(privateKey));
  }

  /** A secret for another purpose (digest nonces), the same in every process that shares the key. */
  deriveSecret(purpose: string): Buffer {
    return createHmac("sha256", this.privateKey.export({ type: "pkcs8", format: "der" }))
      .update(purpose)
      .digest();
  }

  sign(body: Buffer): string {
    return ed25519Sign(this.privateKey, body);
  }
}
