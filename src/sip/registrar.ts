import type { SipSubscriber } from "../accounts/service.js";
import { type DigestAlgorithm, type DigestAuthenticator, parseDigestParams } from "../auth/digest.js";
import type { FailureLimiter } from "../auth/failure-limiter.js";
import type { Clock } from "../clock.js";
import { ids } from "../ids.js";
import type { Logger } from "../logger.js";
import { AorQueue } from "./aor-queue.js";
import type { Binding } from "./binding-store.js";
import type { Location } from "./location.js";
import type { RealmDirectory } from "./realms.js";
import { type NameAddr, parseContacts, parseCSeq, parseNameAddr, parseUri } from "./stack/parser.js";
import { refuse } from "./stack/refusals.js";
import type { ServerTransaction } from "./stack/transaction.js";
import { sameUri } from "./stack/uri-comparison.js";
import type { SubscriberDirectory } from "./subscribers.js";

/** RFC 3261 section 20.19: a malformed expiry counts as 3600 seconds, rather than being refused. */
const malformedExpiresSeconds = 3600;

export interface RegistrarOptions {
  defaultExpiresSeconds: number;
  minExpiresSeconds: number;
  maxExpiresSeconds: number;
  maxContactsPerAccount: number;
  /** Which node this is, kept with each binding (the node that holds the client's connection). */
  nodeId: string;
  /**
   * Whether a Request-URI host is this server itself (one of its addresses or host names): such
   * a Request-URI is valid for every domain served, since phones are often given the registrar's
   * IP address instead of the domain.
   */
  isOwnHost(host: string): boolean;
  /** Remove a binding when its TCP/TLS/WS connection closes (else keep it, marked lost). */
  handleLostConnections: boolean;
}

export interface RegistrarDeps {
  digest: DigestAuthenticator;
  subscribers: SubscriberDirectory;
  realms: RealmDirectory;
  location: Location;
  /** Failures per user (username@domain). */
  userFailures: FailureLimiter;
  /** Failures per source address. */
  addressFailures: FailureLimiter;
  clock: Clock;
  logger: Logger;
}

/**
 * The registrar (RFC 3261 section 10.3): digest-authenticated REGISTER against the account's
 * HA1 with realm = the To domain, then the bindings of the account are added, refreshed or
 * removed and all current ones are returned. The REGISTERs of one address-of-record are
 * processed one after the other, in the order they arrived.
 */
export class Registrar {
  private readonly queue = new AorQueue();

  constructor(
    private readonly deps: RegistrarDeps,
    private readonly options: RegistrarOptions,
  ) {}

  handle(tx: ServerTransaction): Promise<void> {
    const request = tx.request;
    const to = request.parsed?.to ?? parseNameAddr(request.headers.get("to") ?? "");
    const username = to?.parsedUri.user;
    if (!to || !username || to.parsedUri.scheme === "tel") {
      refuse(tx, { name: "bad_to" });
      return Promise.resolve();
    }
    const domain = to.parsedUri.host;
    // RFC 3261 section 10.3 step 3: the address-of-record must be of the Request-URI's domain,
    // unless the Request-URI names this server itself.
    const requestHost = parseUri(request.uri)?.host;
    if (requestHost !== undefined && requestHost !== domain && !this.options.isOwnHost(requestHost)) {
      refuse(tx, { name: "aor_not_in_domain", domain: requestHost });
      return Promise.resolve();
    }
    const userKey = `${username}@${domain}`;
    return this.queue.run(userKey, () => this.process(tx, username, domain, userKey));
  }

  /** A connection closed: its bindings go (or are marked lost), each AOR in turn with its REGISTERs. */
  connectionClosed(flowId: string): Promise<void> {
    const accounts = this.deps.location.takeFlow(flowId);
    return Promise.all(
      accounts.map(async (accountId) => {
        const aor = (await this.deps.location.bindingsOf(accountId)).find((b) => b.flowId === flowId)?.aor;
        if (aor === undefined) return;
        await this.queue.run(aor, async () => {
          const { lost } = await this.deps.location.connectionLost(
            accountId,
            flowId,
            this.options.handleLostConnections,
          );
          if (lost.length === 0) return;
          this.deps.logger.info(
            {
              accountId,
              aor,
              flow: flowId,
              contacts: lost.map((binding) => binding.contact),
              removed: this.options.handleLostConnections,
            },
            this.options.handleLostConnections
              ? "SIP: connection closed, its bindings removed"
              : "SIP: connection closed, its bindings kept and marked lost",
          );
        });
      }),
    ).then(() => undefined);
  }

  private async process(
    tx: ServerTransaction,
    username: string,
    domain: string,
    userKey: string,
  ): Promise<void> {
    const request = tx.request;
    const source = tx.flow.remote.address;

    const blockedFor = Math.max(
      this.deps.addressFailures.blockedForSeconds(source),
      this.deps.userFailures.blockedForSeconds(userKey),
    );
    if (blockedFor > 0) {
      refuse(tx, { name: "rate_limited", retryAfterSeconds: blockedFor });
      return;
    }

    const algorithms = await this.deps.realms.algorithmsOf(domain);
    const authorization = this.pickAuthorization(request.headers.getAll("authorization"), domain);
    if (authorization === undefined) {
      this.challenge(tx, domain, false, algorithms);
      return;
    }
    // RFC 7616 section 3.4 (RFC 2617 section 3.2.2.5): the digest must cover this request's URI,
    // or a digest computed for another request could be presented here.
    const digestUri = parseDigestParams(authorization)?.get("uri");
    if (digestUri !== undefined && !this.sameRequestUri(digestUri, request.uri)) {
      refuse(tx, { name: "digest_uri_mismatch" });
      return;
    }

    let subscriber: SipSubscriber | null = null;
    const result = await this.deps.digest.verify({
      authorization,
      method: "REGISTER",
      realm: domain,
      algorithms,
      credentials: async (name) => {
        subscriber = await this.deps.subscribers.get(name, domain);
        return subscriber;
      },
    });
    if (!result.ok) {
      if (result.stale) {
        this.challenge(tx, domain, true, algorithms);
        return;
      }
      this.recordFailure(source, userKey, result.reason, result.username);
      this.challenge(tx, domain, false, algorithms);
      return;
    }
    const account = subscriber as SipSubscriber | null;
    if (!account || result.username !== username) {
      // The credentials of one account may not change the bindings of another.
      refuse(tx, { name: "credentials_mismatch" });
      return;
    }
    if (account.status === "disabled") {
      refuse(tx, { name: "account_disabled", detail: account.disabledReason });
      return;
    }
    if (account.status === "pending_activation") {
      refuse(tx, { name: "account_not_activated" });
      return;
    }
    await this.updateBindings(tx, account, userKey);
  }

  private pickAuthorization(values: string[], realm: string): string | undefined {
    if (values.length <= 1) return values[0];
    // Several credentials (one per realm a proxy on the way asked for): take the one for ours.
    return values.find((value) => parseDigestParams(value)?.get("realm") === realm) ?? values[0];
  }

  /**
   * Whether the digest's uri names the Request-URI: the same URI (section 19.1.4) but for port
   * and parameters, since sipp and some phones put the registrar's address:port there (sipp's
   * default auth uri) while the Request-URI names the domain alone.
   */
  private sameRequestUri(digestUri: string, requestUri: string): boolean {
    if (digestUri === requestUri) return true;
    const a = parseUri(digestUri);
    const b = parseUri(requestUri);
    if (a === null || b === null) return false;
    const bare = { port: null, params: new Map(), headers: null };
    return sameUri({ ...a, ...bare }, { ...b, ...bare });
  }

  private challenge(
    tx: ServerTransaction,
    realm: string,
    stale: boolean,
    algorithms: readonly DigestAlgorithm[],
  ): void {
    refuse(tx, {
      name: "unauthorized",
      challenges: this.deps.digest.challenge(realm, { stale, algorithms }),
    });
  }

  private recordFailure(source: string, userKey: string, reason: string, username: string | undefined): void {
    const byAddress = this.deps.addressFailures.recordFailure(source);
    const byUser = this.deps.userFailures.recordFailure(userKey);
    const fields = { security: "sip.register.auth_failed", source, user: userKey, username, reason };
    if (byAddress.blockedNow || byUser.blockedNow) {
      this.deps.logger.warn(
        {
          ...fields,
          security: "sip.register.rate_limited",
          failuresFromAddress: byAddress.count,
          failuresForUser: byUser.count,
        },
        "SIP REGISTER: repeated authentication failures, refusing further attempts for a while",
      );
    } else if (byAddress.count < 10_000) {
      this.deps.logger.info(fields, "SIP REGISTER: authentication failed");
    }
  }

  private async updateBindings(tx: ServerTransaction, account: SipSubscriber, aor: string): Promise<void> {
    const request = tx.request;
    const now = this.deps.clock.now().getTime();
    const callId = request.headers.get("call-id") ?? "";
    const cseq = (request.parsed?.cseq ?? parseCSeq(request.headers.get("cseq") ?? ""))?.seq ?? 0;
    const contactLines = request.headers.getAll("contact");
    const contacts = parseContacts(contactLines);
    if (!contacts) {
      refuse(tx, { name: "bad_contact" });
      return;
    }
    const expiresHeader = request.headers.get("expires");
    const headerExpires = expiresHeader === undefined ? null : expirySeconds(expiresHeader);

    const current = await this.deps.location.bindingsOf(account.accountId);

    if (contacts.star) {
      // RFC 3261 section 10.3 step 6: "*" only with Expires: 0 and no other contact.
      if (headerExpires !== 0 || contactLines.length !== 1) {
        refuse(tx, { name: "bad_star_contact" });
        return;
      }
      if (current.some((binding) => binding.callId === callId && cseq <= binding.cseq)) {
        refuse(tx, { name: "cseq_out_of_order" });
        return;
      }
      await this.deps.location.update(account.accountId, [], [], current);
      tx.reply(200, { headers: [["Date", new Date(now).toUTCString()]] });
      return;
    }

    const changes: Array<{ contact: NameAddr; expires: number }> = [];
    for (const contact of contacts.contacts) {
      const param = contact.params.get("expires");
      let expires = headerExpires ?? this.options.defaultExpiresSeconds;
      if (param !== undefined) expires = param === null ? malformedExpiresSeconds : expirySeconds(param);
      if (expires !== 0 && expires < this.options.minExpiresSeconds) {
        refuse(tx, { name: "interval_too_brief", minExpiresSeconds: this.options.minExpiresSeconds });
        return;
      }
      changes.push({ contact, expires: Math.min(expires, this.options.maxExpiresSeconds) });
    }

    const next = new Map(current.map((binding) => [binding.contact, binding]));
    const upserts: Binding[] = [];
    const deletes: Binding[] = [];
    const flow = tx.flow;
    const userAgent = request.headers.get("user-agent") ?? null;
    for (const { contact, expires } of changes) {
      const existing = next.get(contact.uri) ?? sameContact(next, contact);
      if (existing && existing.callId === callId && cseq <= existing.cseq) {
        refuse(tx, { name: "cseq_out_of_order" });
        return;
      }
      if (expires === 0) {
        if (existing) {
          next.delete(existing.contact);
          deletes.push(existing);
        }
        continue;
      }
      const q = contact.params.get("q");
      const binding: Binding = {
        id: existing?.id ?? ids.uuid(),
        accountId: account.accountId,
        aor,
        // Another spelling of a bound contact (section 19.1.4) refreshes it under its first one.
        contact: existing?.contact ?? contact.uri,
        q: q !== undefined && q !== null && /^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(q) ? Number(q) : null,
        expiresAt: now + expires * 1000,
        callId,
        cseq,
        transport: flow.transport,
        sourceAddress: flow.remote.address,
        sourcePort: flow.remote.port,
        localAddress: flow.local.address,
        localPort: flow.local.port,
        flowId: flow.id,
        nodeId: this.options.nodeId,
        userAgent,
        instanceId: unquote(contact.params.get("+sip.instance") ?? null),
        connectionLostAt: null,
      };
      next.set(binding.contact, binding);
      upserts.push(binding);
    }
    if (next.size > this.options.maxContactsPerAccount) {
      refuse(tx, { name: "contacts_exceeded", limit: this.options.maxContactsPerAccount });
      return;
    }
    const bindings = [...next.values()];
    await this.deps.location.update(account.accountId, bindings, upserts, deletes);
    // Keep the connection a client registered over open as long as its registration lasts.
    const longest = Math.max(0, ...bindings.filter((b) => b.flowId === flow.id).map((b) => b.expiresAt));
    if (longest > 0) flow.holdUntil(longest);

    const headers: Array<[string, string]> = bindings.map((binding) => [
      "Contact",
      `<${binding.contact}>;expires=${Math.max(0, Math.round((binding.expiresAt - now) / 1000))}${binding.q === null ? "" : `;q=${binding.q}`}`,
    ]);
    headers.push(["Date", new Date(now).toUTCString()]);
    tx.reply(200, { headers });
  }
}

/** An Expires value (header or parameter) per RFC 3261 section 20.19: malformed counts as 3600. */
function expirySeconds(text: string): number {
  const value = text.trim();
  // Larger than 2**32-1 is still a number of seconds; the registrar caps it at its maximum anyway.
  return /^\d{1,20}$/.test(value) ? Number(value) : malformedExpiresSeconds;
}

/** The binding whose contact is the same URI as this one, spelled differently. */
function sameContact(bindings: Map<string, Binding>, contact: NameAddr): Binding | undefined {
  for (const binding of bindings.values()) {
    const bound = parseUri(binding.contact);
    if (bound && sameUri(bound, contact.parsedUri)) return binding;
  }
  return undefined;
}

function unquote(value: string | null): string | null {
  if (value === null) return null;
  return value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}
