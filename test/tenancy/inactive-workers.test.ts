import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SipTestServer, startSipTestServer } from "../sip/support/accounts.js";
import { TestSipClient } from "../sip/support/client.js";
import { TestRegistrar } from "../sip/support/register.js";
import { databaseKind } from "../support/database.js";

describe.skipIf(databaseKind === "pglite")(
  "an inactive group with SIP in worker processes (PostgreSQL only; skipped on PGlite)",
  () => {
    let t: SipTestServer;
    const clients: TestSipClient[] = [];
    beforeAll(async () => {
      t = await startSipTestServer({ listen: "udp:127.0.0.1:0", sip: { workers: 2 } });
    }, 120_000);
    afterAll(async () => {
      for (const client of clients) client.close();
      await t?.stop();
    });

    it("the workers drop the subtree's bindings and refuse its accounts, then take them back", async () => {
      const sub = await t.api.ok<{ id: string }>("POST", "/api/v1/groups", {
        parentId: t.groupId,
        name: "Sub",
      });
      const id = await t.createAccount("6001", "password-6001", { groupId: sub.id });
      const client = await TestSipClient.udp(t.udp);
      clients.push(client);
      const ua = new TestRegistrar(client, "6001", "password-6001", t.sipDomain);
      expect((await ua.register()).status).toBe(200);
      const registrations = async () =>
        (await t.api.ok<{ registrations: unknown[] }>("GET", `/api/v1/accounts/${id}`)).registrations;
      expect(await registrations()).toHaveLength(1);

      await t.api.ok("PATCH", `/api/v1/groups/${t.groupId}`, { active: false });
      // The workers hear of it over IPC and ask the primary which accounts the group holds.
      const deadline = Date.now() + 2000;
      while ((await registrations()).length > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(await registrations()).toEqual([]);
      const refused = await ua.register();
      expect(refused.status).toBe(403);
      expect(refused.headers.getAll("warning").join(" ")).toContain("its group is inactive");

      await t.api.ok("PATCH", `/api/v1/groups/${t.groupId}`, { active: true });
      let back = await ua.register();
      while (back.status !== 200 && Date.now() < deadline + 2000) back = await ua.register();
      expect(back.status).toBe(200);
    });
  },
);
