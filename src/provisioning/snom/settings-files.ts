import type { PhoneSettingsContext } from "../../accounts/service.js";
import type { DigestAuthenticator } from "../../auth/digest.js";
import type { HttpDigestClients } from "../../auth/http-digest-clients.js";
import type { Clock } from "../../clock.js";
import { NotFoundError, UnauthorizedError } from "../../errors.js";
import { withProblemHeaders } from "../../http/problem.js";
import type { RawRequest } from "../../http/route.js";
import { ids } from "../../ids.js";
import type { FetchLog } from "./fetch-log.js";
import { snomSettings, snomSettingsXml } from "./settings-xml.js";
import { parseSnomUserAgent } from "./user-agent.js";

/** The phone a settings credential belongs to, as the digest lookup found it. */
export interface SnomPhone {
  accountId: string;
  macAddress: string | null;
  deleted: boolean;
}

export interface SnomSettingsFilesOptions {
  fetches: FetchLog;
  clock: Clock;
  realm: string;
  digest: DigestAuthenticator;
  clients: HttpDigestClients<SnomPhone>;
  phoneSettings: { of(accountId: string): Promise<PhoneSettingsContext | null> };
  /** The base URL phones reach this server at (config's public URL, else the listener's). */
  publicUrl: () => string;
}

/** How much of a User-Agent is kept: enough for any phone's, not a place to store a payload. */
const userAgentMaxLength = 300;

/**
 * GET /snom/{mac}.xml and /snom{model}-{MAC}.htm: the settings file of the phone whose
 * credential answers the digest challenge. An unknown MAC, a wrong password and another phone's
 * credential all get the same 401 with a fresh challenge, so the answer never tells which MACs
 * exist; only a phone that authenticates learns that its account was deleted (404).
 */
export class SnomSettingsFiles {
  constructor(private readonly options: SnomSettingsFilesOptions) {}

  async fetch(request: RawRequest, mac: string): Promise<string> {
    const { clients, digest, realm } = this.options;
    const auth = await clients.authenticate({
      authorization: request.headers.authorization,
      method: request.method,
      uri: request.url,
      realm,
      address: request.remoteAddress,
    });
    const refuse = (reason: string, challenge: string[]) =>
      withProblemHeaders(new UnauthorizedError(reason), { "WWW-Authenticate": challenge });
    if (!auth.ok) throw refuse(auth.reason, auth.challenge);
    const phone = auth.client;
    // A valid credential of another phone opens nothing: answered like a wrong password.
    if (phone.macAddress !== mac) throw refuse("invalid credentials", digest.challenge(realm));
    if (phone.deleted) throw new NotFoundError("this phone's account was deleted: it has no settings here");
    const context = await this.options.phoneSettings.of(phone.accountId);
    if (!context) throw new NotFoundError("this phone's account was deleted: it has no settings here");

    const file = snomSettings(context, `${this.options.publicUrl()}/snom/${mac}.xml`);
    const xml = snomSettingsXml(file);
    const userAgent = request.headers["user-agent"]?.slice(0, userAgentMaxLength) ?? null;
    const agent = parseSnomUserAgent(userAgent ?? undefined);
    const working = file.settings.some((s) => s.name === "user_active" && s.value === "on");
    this.options.fetches.record({
      id: ids.uuid(),
      account_id: phone.accountId,
      fetched_at: this.options.clock.now(),
      address: request.remoteAddress,
      user_agent: userAgent,
      model: agent?.model ?? null,
      firmware: agent?.firmware ?? null,
      outcome: working ? "settings" : "disabled",
    });
    return xml;
  }
}
