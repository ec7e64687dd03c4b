import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../logger.js";

export const passphraseFileName = "ca.passphrase";

/**
 * The passphrase the CA key is encrypted with: pki.caPassphrase, or (embedded default) one made
 * on first use in `<pki.dir>/ca.passphrase` (0600) so a fresh install works; an operator who
 * configures a passphrase keeps the key useless to whoever copies the directory alone.
 */
export function caPassphrase(configured: string | null, dir: string, logger?: Logger): string {
  if (configured) return configured;
  const file = join(dir, passphraseFileName);
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const passphrase = randomBytes(32).toString("base64url");
  writeFileSync(file, `${passphrase}\n`, { mode: 0o600, flag: "wx" });
  logger?.warn(
    { file },
    "PKI: no pki.caPassphrase configured, so the CA key's passphrase was generated next to it; configure one in production",
  );
  return passphrase;
}
