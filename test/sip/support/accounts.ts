import { apiClient } from "../../support/api.js";
import { startTestServer, type TestServer } from "../../support/server.js";

let seq = 0;
const unique = (prefix: string) => `${prefix}-${process.pid}-${++seq}`;

export interface SipTestServer extends TestServer {
  api: ReturnType<typeof apiClient>;
  udp: { address: string; port: number };
  tcp: { address: string; port: number };
  ws?: { address: string; port: number };
  sipDomain: string;
  groupId: string;
  profileId: string;
  organisationId: string;
  /** Creates an account in the test domain and returns its id. */
  createAccount(username: string, password: string, extra?: Record<string, unknown>): Promise<string>;
}

/** provisiond with SIP on ephemeral loopback ports, and one organisation/profile/group to put accounts in. */
export async function startSipTestServer(
  options: {
    sipDomain?: string;
    sip?: Record<string, unknown>;
    listen?: string;
    /** Settings of the test profile (digestAlgorithms, ...). */
    profile?: Record<string, unknown>;
  } = {},
): Promise<SipTestServer> {
  const server = await startTestServer({
    config: {
      sip: {
        enabled: true,
        listen: options.listen ?? "udp:127.0.0.1:0,tcp:127.0.0.1:0",
        bindingFlushMs: 0,
        ...options.sip,
      },
    },
  });
  const api = apiClient(server.url, server.operatorToken);
  const sipDomain = options.sipDomain ?? "127.0.0.1";
  const org = await api.ok<{ id: string }>("POST", "/api/v1/organisations", { name: unique("Org") });
  const profile = await api.ok<{ id: string }>("POST", "/api/v1/profiles", {
    organisationId: org.id,
    name: unique("Profile"),
    sipDomain,
    serverHost: "127.0.0.1",
    ...options.profile,
  });
  const group = await api.ok<{ id: string }>("POST", "/api/v1/groups", {
    organisationId: org.id,
    name: unique("Group"),
    defaultProfileId: profile.id,
  });
  const addresses = server.server.sip?.addresses() ?? [];
  const find = (transport: string) => {
    const found = addresses.find((a) => a.transport === transport);
    return found ? { address: found.address, port: found.port } : undefined;
  };
  return {
    ...server,
    api,
    udp: find("udp") ?? { address: "127.0.0.1", port: 0 },
    tcp: find("tcp") ?? { address: "127.0.0.1", port: 0 },
    ...(find("ws") ? { ws: find("ws") } : {}),
    sipDomain,
    groupId: group.id,
    profileId: profile.id,
    organisationId: org.id,
    async createAccount(username, password, extra = {}) {
      const account = await api.ok<{ id: string }>("POST", "/api/v1/accounts", {
        groupId: group.id,
        type: "PGSM",
        mode: "manual",
        username,
        password,
        ...extra,
      });
      return account.id;
    },
  };
}
