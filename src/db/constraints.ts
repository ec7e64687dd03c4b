import { ConflictError } from "../errors.js";

/** What a unique constraint's violation tells the client (409), by constraint name. */
export const uniqueConstraints = {
  accounts_username_unique: "this username is taken in the SIP domain",
  // The same words whoever holds the number, so a clash tells nothing of another tenant.
  accounts_phone_unique: "this phone number is already in use",
  accounts_mac_unique: "this MAC address is already in use",
  organisation_sip_domains_pkey: "this SIP domain is already in use",
  profiles_name_unique: "a profile with this name exists in the organisation",
  organisations_name_unique: "an organisation with this name already exists",
  users_email_unique: "a user with this e-mail already exists",
} as const satisfies Record<string, string>;

export type UniqueConstraint = keyof typeof uniqueConstraints;

/** The request field each unique constraint guards, so a 409 names it in `errors`. */
const constraintFields: Record<UniqueConstraint, string> = {
  accounts_username_unique: "username",
  accounts_phone_unique: "phoneNumber",
  accounts_mac_unique: "macAddress",
  organisation_sip_domains_pkey: "sipDomains",
  profiles_name_unique: "name",
  organisations_name_unique: "name",
  users_email_unique: "email",
};

const fallbackMessage = "conflicts with an existing record";

/** The ConflictError a unique violation (SQLSTATE 23505) stands for; null for any other error. */
export function conflictOf(error: unknown): ConflictError | null {
  const e = error as { code?: string; constraint?: string; message?: string } | null | undefined;
  if (e?.code !== "23505") return null;
  const name =
    e.constraint && e.constraint in uniqueConstraints
      ? (e.constraint as UniqueConstraint)
      : (Object.keys(uniqueConstraints) as UniqueConstraint[]).find((c) => (e.message ?? "").includes(c));
  if (!name) return new ConflictError(fallbackMessage);
  const message = uniqueConstraints[name];
  return new ConflictError(message, [{ path: `body.${constraintFields[name]}`, message }]);
}

/** Runs a write, turning a unique violation into its 409. */
export async function withConflicts<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    throw conflictOf(error) ?? error;
  }
}
