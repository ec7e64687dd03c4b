import { createPrivateKey, type KeyObject } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config/schema.js";
import { caPassphrase } from "./ca-passphrase.js";
import { type CaMaterial, CertificateAuthority, caFileNames } from "./certificate-authority.js";
import type { CaKeyType } from "./key-algorithms.js";
import { pkiDirectory } from "./setup.js";

/** What `provisiond ca init` and `ca import` did, for the command to print. */
export interface CaCommandResult {
  dir: string;
  subject: string;
  fingerprint: string;
  notAfter: Date;
  intermediate: boolean;
}

function readKey(file: string, passphrase: string | undefined): KeyObject {
  try {
    return createPrivateKey({
      key: readFileSync(file),
      format: "pem",
      ...(passphrase ? { passphrase } : {}),
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `cannot read the private key in ${file} (${reason}); an encrypted key needs its passphrase`,
    );
  }
}

function refuseOverwrite(dir: string, force: boolean): void {
  if (!force && existsSync(join(dir, caFileNames.key))) {
    throw new Error(
      `a CA already exists in ${dir}; --force replaces it (certificates it issued then no longer verify against the new chain: see docs/pki.md, rotation)`,
    );
  }
}

function parentMaterial(certFile: string, keyFile: string, passphrase: string | undefined): CaMaterial {
  const certificatePem = readFileSync(certFile, "utf8");
  return { certificatePem, chainPem: certificatePem, privateKey: readKey(keyFile, passphrase) };
}

const result = (dir: string, ca: CertificateAuthority): CaCommandResult => ({
  dir,
  subject: ca.certificate.subject,
  fingerprint: ca.fingerprint,
  notAfter: ca.certificate.notAfter,
  intermediate: ca.chain.length > 1 || ca.certificate.subject !== ca.certificate.issuer,
});

/** `provisiond ca init`: a new root CA, or an intermediate signed by a parent's certificate and key. */
export async function initCa(
  config: Config,
  options: {
    keyType?: CaKeyType;
    subject?: string;
    validityDays?: number;
    parentCert?: string;
    parentKey?: string;
    /** The parent key's passphrase (from the environment, never the command line). */
    parentPassphrase?: string;
    force?: boolean;
    now: Date;
  },
): Promise<CaCommandResult> {
  const dir = pkiDirectory(config.pki, config.database.dataDir);
  refuseOverwrite(dir, options.force ?? false);
  if ((options.parentCert === undefined) !== (options.parentKey === undefined)) {
    throw new Error("an intermediate CA needs both --parent-cert and --parent-key");
  }
  const ca = await CertificateAuthority.create({
    subject: options.subject ?? config.pki.caSubject,
    keyType: options.keyType ?? config.pki.caKeyType,
    validityDays: options.validityDays ?? config.pki.caValidityDays,
    now: options.now,
    ...(options.parentCert && options.parentKey
      ? { parent: parentMaterial(options.parentCert, options.parentKey, options.parentPassphrase) }
      : {}),
  });
  ca.save(dir, caPassphrase(config.pki.caPassphrase, dir));
  return result(dir, ca);
}

/** `provisiond ca import`: an existing CA's certificate (and chain) and key, re-encrypted with pki.caPassphrase. */
export async function importCa(
  config: Config,
  options: { cert: string; key: string; chain?: string; keyPassphrase?: string; force?: boolean },
): Promise<CaCommandResult> {
  const dir = pkiDirectory(config.pki, config.database.dataDir);
  refuseOverwrite(dir, options.force ?? false);
  const certificatePem = readFileSync(options.cert, "utf8");
  const ca = await CertificateAuthority.fromMaterial({
    certificatePem,
    chainPem: options.chain ? `${certificatePem}\n${readFileSync(options.chain, "utf8")}` : certificatePem,
    privateKey: readKey(options.key, options.keyPassphrase),
  });
  ca.save(dir, caPassphrase(config.pki.caPassphrase, dir));
  return result(dir, ca);
}
