import type { Principal } from "../tenancy/roles.js";

/** Who acts, for authorisation and the audit trail: the caller of a request. */
export interface Actor {
  principal: Principal;
  requestId: string | null;
}

/** The system acting on its own (first start, the command line), named in the audit trail. */
export interface SystemActor {
  label: string;
}

export const systemActor = (label: string): SystemActor => ({ label });
