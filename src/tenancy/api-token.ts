import { createHash } from "node:crypto";
import { ids } from "../ids.js";

/** Prefix that makes a leaked token recognisable to secret scanners and to people. */
const prefix = "pvd_";

export function generateApiToken(): string {
  return `${prefix}${ids.secret(32)}`;
}

/** Only this digest is stored; the token is shown once. */
export function hashApiToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

export function looksLikeApiToken(value: string): boolean {
  return value.startsWith(prefix) && value.length > prefix.length + 30 && value.length < 200;
}
