import type { Knex } from "knex";
import { ConflictError } from "../errors.js";
import { tenancyStore } from "../tenancy/store.js";
import type { ProfileRow } from "./store.js";

/**
 * Usernames are unique per SIP domain, so whoever may choose usernames in a domain learns which
 * exist there from the 409s. Only the organisation the domain is assigned to may: a profile
 * left on another organisation's domain by the domains migration (a domain two organisations
 * used) keeps its accounts working, but no new username goes into that realm through it.
 */
export async function assertRealmOfOrganisation(
  db: Knex,
  profile: ProfileRow,
  organisationId: string,
  path: string,
): Promise<void> {
  const owner = await tenancyStore.sipDomainOwner(db, profile.sip_domain);
  if (owner !== organisationId) {
    throw new ConflictError(
      `${path}: the profile's SIP domain is not assigned to this organisation; an operator must settle it first`,
    );
  }
}
