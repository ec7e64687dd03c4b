import { randomBytes, randomUUID } from "node:crypto";

/** The one id generator: UUIDs for rows, URL-safe random strings for secrets. */
export const ids = {
  uuid: (): string => randomUUID(),
  secret: (bytes = 32): string => randomBytes(bytes).toString("base64url"),
};
