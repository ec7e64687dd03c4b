import { systemActor } from "../../src/audit/actor.js";
import type { TestServer } from "./server.js";

/**
 * Sets a user's console password through the code `provisiond user password --email` runs
 * (Passwords.setByEmail), on the test server's own database and configuration.
 */
export async function setUserPassword(server: TestServer, email: string, password: string): Promise<void> {
  await server.server.signIn.passwords.setByEmail(email, password, systemActor("cli"));
}
