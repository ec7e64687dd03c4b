import type { SipSubscriber } from "../accounts/service.js";
import { type DigestAuthenticator, parseDigestParams } from "../auth/digest.js";
import type { Clock } from "../clock.js";
import { ids } from "../ids.js";
import type { Logger } from "../logger.js";
import { type Announcement, type Announcer, readOffer } from "./announcement.js";
import { type AnnouncementLanguage, isAnnouncementLanguage } from "./announcement-files.js";
import {
  type AnnouncementCase,
  type CallRecord,
  callStatusOf,
  type EndedBy,
  endCall,
} from "./call-record.js";
import type { CdrWriter } from "./cdr-store.js";
import type { Dialog, DialogSide, Dialogs } from "./dialogs.js";
import type { Forwarding } from "./forwarding.js";
import type { Location } from "./location.js";
import { ProxyTransaction } from "./proxy-transaction.js";
import type { RealmDirectory } from "./realms.js";
import { SipHeaders, type SipRequest, type SipResponse, serializeMessage } from "./stack/message.js";
import { type NameAddr, parseCSeq, parseNameAddr, tagOf } from "./stack/parser.js";
import { type Refusal, refuse } from "./stack/refusals.js";
import type { ServerTransaction, TransactionLayer } from "./stack/transaction.js";
import type { Flow } from "./stack/transport/types.js";
import type { SubscriberDirectory } from "./subscribers.js";

export interface RouterOptions {
  /** Timer C: how long a call may ring before the caller gets 408 and the contacts a CANCEL. */
  ringTimeoutSeconds: number;
}

export interface RouterDeps {
  layer: TransactionLayer;
  forwarding: Forwarding;
  digest: DigestAuthenticator;
  /** The digest algorithms of each SIP domain (its profile's), as the registrar challenges with. */
  realms: RealmDirectory;
  subscribers: SubscriberDirectory;
  location: Location;
  dialogs: Dialogs;
  cdrs: CdrWriter;
  announcer: Announcer;
  /** The language of an account's announcements (its profile's); null when unknown. */
  languageOf(accountId: string): Promise<string | null>;
  /** The Allow header value, for OPTIONS the server answers itself. */
  allow(): string;
  clock: Clock;
  logger: Logger;
}

/** What CANCEL or a disable can stop: a call being forked, or an announcement playing. */
interface PendingCall {
  record: CallRecord;
  proxy?: ProxyTransaction;
  announcement?: Announcement;
}

/** Methods that only exist inside a dialog: without a To tag there is nothing to route them to. */
const inDialogOnly = new Set(["BYE", "UPDATE", "INFO", "PRACK"]);

/**
 * The router: a stateful proxy (RFC 3261 section 16) between the registered accounts of one SIP
 * domain. New calls and messages are authenticated (407, the shared digest authenticator), the
 * callee's bindings looked up and forked to in parallel with Record-Route (two entries when the
 * transport changes); requests inside a dialog follow the dialog; a disabled caller or callee
 * hears an announcement instead. Every authenticated INVITE leaves a call record.
 */
export class Router {
  private readonly pending = new Map<string, PendingCall>();

  constructor(
    private readonly deps: RouterDeps,
    private readonly options: RouterOptions,
  ) {}

  /** Dialogs this node is in, for metrics and tests. */
  dialogCount(): number {
    return this.deps.dialogs.size();
  }

  /** INVITE, MESSAGE, OPTIONS, BYE, UPDATE, INFO, PRACK. */
  readonly handle = async (tx: ServerTransaction): Promise<void> => {
    const request = tx.request;
    const toTag = request.parsed
      ? (request.parsed.to.params.get("tag") ?? null)
      : tagOf(request.headers.get("to"));
    if (toTag !== null) {
      await this.inDialog(tx, request);
      return;
    }
    if (inDialogOnly.has(request.method)) {
      refuse(tx, { name: "no_transaction" });
      return;
    }
    await this.initial(tx, request);
  };

  /** CANCEL (RFC 3261 section 9.2): 200 to the CANCEL, then the INVITE's branches are cancelled. */
  readonly cancel = (tx: ServerTransaction): void => {
    const request = tx.request;
    const via = request.parsed?.topVia;
    const invite = via ? this.deps.layer.findInviteFor(request, via) : undefined;
    if (!invite) {
      refuse(tx, { name: "no_transaction" });
      return;
    }
    tx.reply(200);
    const pending = this.pending.get(invite.key);
    if (!pending) {
      // Still authenticating or looking up the callee: the INVITE ends here, nothing is forked.
      invite.reply(487);
      return;
    }
    if (pending.announcement) pending.announcement.stop();
    else if (pending.proxy) {
      pending.proxy.cancel();
      // Every branch answers the CANCEL with 487; the caller gets the best of them. A branch that
      // never answered is given up at once: the caller cancelled, it must not wait for Timer B.
      if (pending.proxy.branches.every((branch) => !branch.provisional)) {
        invite.reply(487);
        this.finishRecord(pending.record, 487);
        this.pending.delete(invite.key);
      }
    } else {
      invite.reply(487);
    }
  };

  /** An ACK no transaction took: the ACK of a 2xx, forwarded along the dialog statelessly. */
  readonly strayAck = (request: SipRequest, flow: Flow): void => {
    this.forwardAck(request, flow).catch((error: unknown) =>
      this.deps.logger.debug({ err: error }, "SIP: an ACK could not be forwarded"),
    );
  };

  /** Disabling or deleting an account ends its calls: BYE to both legs, CANCEL to what still rings. */
  endCallsOf(accountId: string, reason: string): number {
    let ended = 0;
    for (const dialog of this.deps.dialogs.ofAccount(accountId)) {
      this.deps.dialogs.remove(dialog);
      const reasonHeader = `SIP;cause=403;text="${reason.replace(/["\\]/g, "'")}"`;
      this.sendBye(dialog.caller, dialog.callee, dialog.callId, reasonHeader);
      this.sendBye(dialog.callee, dialog.caller, dialog.callId, reasonHeader);
      endCall(dialog.record, this.deps.clock.now(), "system");
      this.deps.cdrs.record(dialog.record);
      ended++;
    }
    for (const pending of this.pending.values()) {
      const record = pending.record;
      if (record.callerAccountId !== accountId && record.calleeAccountId !== accountId) continue;
      pending.proxy?.cancel();
      ended++;
    }
    return ended;
  }

  // --- new calls and messages

  private async initial(tx: ServerTransaction, request: SipRequest): Promise<void> {
    const method = request.method;
    const target = parseNameAddr(`<${request.uri}>`)?.parsedUri;
    if (method === "OPTIONS" && !target?.user) {
      // OPTIONS to the server itself (keep-alives, capability checks): answered here.
      tx.reply(200, { headers: [["Allow", this.deps.allow()]] });
      return;
    }
    const hops = this.maxForwards(request);
    if (hops === 0) {
      if (method === "OPTIONS") tx.reply(200, { headers: [["Allow", this.deps.allow()]] });
      else refuse(tx, { name: "too_many_hops" });
      return;
    }
    if (this.deps.forwarding.hasOurVia(request.headers)) {
      refuse(tx, { name: "loop_detected" });
      return;
    }
    if (!target || target.scheme === "tel" || !target.user) {
      refuse(tx, { name: "bad_request_uri" });
      return;
    }
    const from = request.parsed?.from ?? parseNameAddr(request.headers.get("from") ?? "");
    const callerName = from?.parsedUri.user;
    if (!from || !callerName || from.parsedUri.scheme === "tel") {
      refuse(tx, { name: "bad_from" });
      return;
    }
    const domain = from.parsedUri.host;
    const caller = await this.authenticate(tx, request, callerName, domain);
    if (!caller) return;
    if (caller.status === "pending_activation") {
      refuse(tx, { name: "account_not_activated" });
      return;
    }
    // The Request-URI names an account of the caller's domain, or this server (which means the same).
    if (target.host !== domain && !this.deps.forwarding.isOurs(target.host, target.port)) {
      refuse(tx, { name: "no_trunk" });
      return;
    }
    const isCall = method === "INVITE";
    const record: CallRecord | null = isCall
      ? {
          id: ids.uuid(),
          callId: request.headers.get("call-id") ?? "",
          caller: `${caller.username}@${domain}`,
          callee: `${target.user}@${domain}`,
          callerAccountId: caller.accountId,
          calleeAccountId: null,
          callerGroupId: caller.groupId,
          calleeGroupId: null,
          startedAt: this.deps.clock.now(),
          answeredAt: null,
          endedAt: null,
          durationSeconds: null,
          status: "in_progress",
          sipStatus: null,
          endedBy: null,
          announcement: null,
        }
      : null;
    const refuseCall = (refusal: Refusal, status: number): void => {
      refuse(tx, refusal);
      if (record) this.finishRecord(record, status);
    };

    if (caller.status === "disabled") {
      if (record) await this.announce(tx, request, record, caller, "caller-disabled", caller.disabledReason);
      else refuse(tx, { name: "account_disabled", detail: caller.disabledReason });
      return;
    }
    const callee = await this.deps.subscribers.get(target.user, domain);
    if (!callee) {
      refuseCall({ name: "unknown_user" }, 404);
      return;
    }
    if (record) {
      record.calleeAccountId = callee.accountId;
      record.calleeGroupId = callee.groupId;
    }
    if (callee.status !== "active") {
      if (record) await this.announce(tx, request, record, caller, "callee-unavailable", null);
      else refuse(tx, { name: "callee_disabled" });
      return;
    }
    const bindings = await this.deps.location.bindingsOf(callee.accountId);
    const branches: Array<{ request: SipRequest; flow: Flow }> = [];
    for (const binding of bindings) {
      const flow = await this.deps.forwarding.toBinding(binding);
      if (!flow) continue;
      branches.push({
        request: this.branchRequest(request, binding.contact, flow, tx.flow, hops, domain, isCall),
        flow,
      });
    }
    if (branches.length === 0) {
      refuseCall({ name: "not_registered" }, 480);
      return;
    }
    this.proxy(tx, request, branches, record, caller);
  }

  private async authenticate(
    tx: ServerTransaction,
    request: SipRequest,
    username: string,
    realm: string,
  ): Promise<SipSubscriber | null> {
    const values = request.headers.getAll("proxy-authorization");
    const authorization =
      values.length <= 1
        ? values[0]
        : (values.find((value) => parseDigestParams(value)?.get("realm") === realm) ?? values[0]);
    const algorithms = await this.deps.realms.algorithmsOf(realm);
    const challenge = (stale: boolean) =>
      refuse(tx, {
        name: "proxy_unauthorized",
        challenges: this.deps.digest.challenge(realm, { stale, algorithms }),
      });
    if (authorization === undefined) {
      challenge(false);
      return null;
    }
    let subscriber: SipSubscriber | null = null;
    const result = await this.deps.digest.verify({
      authorization,
      method: request.method,
      realm,
      algorithms,
      credentials: async (name) => {
        subscriber = await this.deps.subscribers.get(name, realm);
        return subscriber;
      },
    });
    if (!result.ok) {
      if (!result.stale)
        this.deps.logger.info(
          { security: "sip.proxy.auth_failed", source: tx.flow.remote.address, user: `${username}@${realm}` },
          `SIP ${request.method}: authentication failed`,
        );
      challenge(result.stale);
      return null;
    }
    const account = subscriber as SipSubscriber | null;
    if (!account || result.username !== username) {
      refuse(tx, { name: "caller_mismatch" });
      return null;
    }
    return account;
  }

  /** The request one branch sends: new target, one hop less, our Via and Record-Route. */
  private branchRequest(
    request: SipRequest,
    contact: string,
    out: Flow,
    inbound: Flow,
    hops: number,
    realm: string,
    recordRoute: boolean,
  ): SipRequest {
    const headers = request.headers.clone();
    headers.set("Max-Forwards", String(hops - 1));
    // The credentials were for us (RFC 3261 section 22.3): the callee must not see them.
    const credentials = headers.getAll("proxy-authorization");
    headers.remove("proxy-authorization");
    for (const value of credentials)
      if (parseDigestParams(value)?.get("realm") !== realm) headers.append("Proxy-Authorization", value);
    this.deps.forwarding.popOwnRoutes(headers);
    if (recordRoute) {
      // RFC 5658: a proxy that changes transport (or interface) records a route on each side.
      if (inbound.transport !== out.transport || inbound.local.port !== out.local.port) {
        headers.prepend("Record-Route", this.deps.forwarding.recordRoute(inbound));
      }
      headers.prepend("Record-Route", this.deps.forwarding.recordRoute(out));
    }
    headers.prepend("Via", this.deps.forwarding.via(out, this.deps.forwarding.newBranch()));
    return { kind: "request", method: request.method, uri: contact, headers, body: request.body };
  }

  private proxy(
    tx: ServerTransaction,
    request: SipRequest,
    branches: Array<{ request: SipRequest; flow: Flow }>,
    record: CallRecord | null,
    caller: SipSubscriber,
  ): void {
    if (tx.isInvite && tx.state !== "proceeding") {
      // Cancelled while the callee was looked up.
      if (record) this.finishRecord(record, 487);
      return;
    }
    const key = tx.key;
    const ringTimeoutMs = record ? this.options.ringTimeoutSeconds * 1000 : 0;
    let dialogMade = false;
    const proxy = new ProxyTransaction(this.deps.layer, tx, ringTimeoutMs, {
      onResponse: (response, branch) => {
        if (!record || dialogMade || response.status < 200 || response.status >= 300) return;
        dialogMade = true;
        const dialog = this.dialogOf(request, response, tx.flow, branch.flow, record, caller);
        if (dialog) this.deps.dialogs.add(dialog);
      },
      onFinal: (status) => {
        this.pending.delete(key);
        if (record) this.finishRecord(record, status);
      },
    });
    if (record) this.pending.set(key, { record, proxy });
    proxy.start(branches);
  }

  private dialogOf(
    invite: SipRequest,
    answer: SipResponse,
    callerFlow: Flow,
    calleeFlow: Flow,
    record: CallRecord,
    caller: SipSubscriber,
  ): Dialog | null {
    const fromValue = invite.headers.get("from") ?? "";
    const toValue = answer.headers.get("to") ?? "";
    const callerTag = tagOf(fromValue);
    const calleeTag = tagOf(toValue);
    const callerContact = contactUri(invite.headers.get("contact"));
    const calleeContact = contactUri(answer.headers.get("contact"));
    if (!callerTag || !calleeTag || !callerContact || !calleeContact) return null;
    const side = (
      accountId: string | null,
      flow: Flow,
      contact: string,
      tag: string,
      address: string,
      cseq: number,
    ): DialogSide => ({
      accountId,
      flow,
      contact,
      tag,
      address,
      cseq,
    });
    return {
      callId: record.callId,
      caller: side(
        caller.accountId,
        callerFlow,
        callerContact,
        callerTag,
        fromValue,
        parseCSeq(invite.headers.get("cseq") ?? "")?.seq ?? 1,
      ),
      callee: side(record.calleeAccountId, calleeFlow, calleeContact, calleeTag, toValue, 0),
      record,
    };
  }

  private finishRecord(record: CallRecord, status: number): void {
    if (record.sipStatus !== null) return;
    record.sipStatus = status;
    record.status = callStatusOf(status);
    const now = this.deps.clock.now();
    if (status >= 200 && status < 300) record.answeredAt = now;
    else endCall(record, now, null);
    this.deps.cdrs.record(record);
  }

  // --- announcements

  private async announce(
    tx: ServerTransaction,
    request: SipRequest,
    record: CallRecord,
    caller: SipSubscriber,
    kind: AnnouncementCase,
    disabledReason: string | null,
  ): Promise<void> {
    const final: Refusal =
      kind === "caller-disabled"
        ? { name: "caller_disabled_announced", detail: disabledReason }
        : { name: "callee_unavailable_announced" };
    const finalStatus = kind === "caller-disabled" ? 403 : 480;
    const offer = readOffer(request.body);
    if (offer === "no_codec") {
      refuse(tx, { name: "no_common_codec" });
      this.finishRecord(record, 488);
      return;
    }
    if (offer === "no_offer") {
      refuse(tx, final);
      this.finishRecord(record, finalStatus);
      return;
    }
    const pending: PendingCall = { record };
    this.pending.set(tx.key, pending);
    try {
      const language = await this.languageOf(caller.accountId);
      const announcement = await this.deps.announcer.prepare(tx, kind, language, offer, caller.groupId);
      if (tx.state !== "proceeding") {
        this.finishRecord(record, 487);
        return;
      }
      pending.announcement = announcement;
      record.announcement = kind;
      const completed = await announcement.play();
      if (completed) {
        refuse(tx, final);
        this.finishRecord(record, finalStatus);
      } else {
        tx.reply(487);
        this.finishRecord(record, 487);
      }
    } finally {
      this.pending.delete(tx.key);
    }
  }

  private async languageOf(accountId: string): Promise<AnnouncementLanguage> {
    const language = await this.deps.languageOf(accountId).catch(() => null);
    return isAnnouncementLanguage(language) ? language : "en";
  }

  // --- inside a dialog

  private async inDialog(tx: ServerTransaction, request: SipRequest): Promise<void> {
    const hops = this.maxForwards(request);
    if (hops === 0) {
      refuse(tx, { name: "too_many_hops" });
      return;
    }
    const headers = request.headers.clone();
    const ours = this.deps.forwarding.popOwnRoutes(headers);
    const found = this.findDialog(request);
    if (!found && ours === 0) {
      // Not a dialog of ours and not routed through us: this proxy relays nothing for strangers.
      refuse(tx, { name: "no_transaction" });
      return;
    }
    let flow: Flow | undefined;
    if (found) {
      const { dialog, fromCaller } = found;
      const sender = fromCaller ? dialog.caller : dialog.callee;
      sender.cseq = Math.max(sender.cseq, parseCSeq(request.headers.get("cseq") ?? "")?.seq ?? 0);
      flow = fromCaller ? dialog.callee.flow : dialog.caller.flow;
      if (!flow.isOpen()) flow = undefined;
      if (request.method === "BYE") this.hangUp(dialog, fromCaller ? "caller" : "callee");
    }
    if (!flow) flow = await this.deps.forwarding.toUri(headers.values("route")[0] ?? request.uri);
    if (!flow) {
      refuse(tx, { name: "no_transaction" });
      return;
    }
    headers.set("Max-Forwards", String(hops - 1));
    headers.prepend("Via", this.deps.forwarding.via(flow, this.deps.forwarding.newBranch()));
    const forwarded: SipRequest = {
      kind: "request",
      method: request.method,
      uri: request.uri,
      headers,
      body: request.body,
    };
    new ProxyTransaction(this.deps.layer, tx, 0).start([{ request: forwarded, flow }]);
  }

  private async forwardAck(request: SipRequest, _from: Flow): Promise<void> {
    const headers = request.headers.clone();
    const ours = this.deps.forwarding.popOwnRoutes(headers);
    const found = this.findDialog(request);
    // The ACK of a final we (or nobody) sent without a dialog and not routed through us: absorbed.
    if (!found && ours === 0) return;
    let flow: Flow | undefined;
    if (found) flow = found.fromCaller ? found.dialog.callee.flow : found.dialog.caller.flow;
    if (!flow?.isOpen()) flow = await this.deps.forwarding.toUri(headers.values("route")[0] ?? request.uri);
    if (!flow) return;
    const hops = this.maxForwards(request);
    if (hops === 0) return;
    headers.set("Max-Forwards", String(hops - 1));
    headers.prepend(
      "Via",
      this.deps.forwarding.via(flow, this.deps.forwarding.statelessBranch(request.headers)),
    );
    flow.send(
      serializeMessage({ kind: "request", method: "ACK", uri: request.uri, headers, body: request.body }),
    );
  }

  private findDialog(request: SipRequest): { dialog: Dialog; fromCaller: boolean } | undefined {
    const callId = request.headers.get("call-id");
    const fromTag = tagOf(request.headers.get("from"));
    const toTag = tagOf(request.headers.get("to"));
    if (callId === undefined || !fromTag || !toTag) return undefined;
    return this.deps.dialogs.find(callId, fromTag, toTag);
  }

  private hangUp(dialog: Dialog, endedBy: EndedBy): void {
    this.deps.dialogs.remove(dialog);
    endCall(dialog.record, this.deps.clock.now(), endedBy);
    this.deps.cdrs.record(dialog.record);
  }

  /** A BYE the proxy itself sends to one side, in the name of the other (RFC 3261 section 15.1.1). */
  private sendBye(to: DialogSide, from: DialogSide, callId: string, reason: string): void {
    from.cseq += 1;
    const headers = new SipHeaders();
    headers.append("Via", this.deps.forwarding.via(to.flow, this.deps.forwarding.newBranch()));
    headers.append("Max-Forwards", "70");
    headers.append("From", from.address);
    headers.append("To", to.address);
    headers.append("Call-ID", callId);
    headers.append("CSeq", `${from.cseq} BYE`);
    headers.append("Reason", reason);
    const bye: SipRequest = {
      kind: "request",
      method: "BYE",
      uri: to.contact,
      headers,
      body: Buffer.alloc(0),
    };
    try {
      this.deps.layer.sendRequest(bye, to.flow, { onResponse: () => {} });
    } catch (error) {
      this.deps.logger.info(
        { err: error, callId },
        "SIP: a BYE of a disabled account's call could not be sent",
      );
    }
  }

  private maxForwards(request: SipRequest): number {
    const value = request.headers.get("max-forwards");
    if (value === undefined || !/^\s*\d{1,3}\s*$/.test(value)) return 70;
    return Math.min(Number(value), 255);
  }
}

function contactUri(value: string | undefined): string | null {
  if (!value) return null;
  const contact: NameAddr | null = parseNameAddr(value);
  return contact ? contact.uri : null;
}
