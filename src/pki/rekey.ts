import type { KeyHolder } from "../accounts/service.js";
import { systemActor } from "../audit/actor.js";
import type { AuditService } from "../audit/service.js";
import type { Clock } from "../clock.js";
import type { Database } from "../db/database.js";
import { ConflictError, ForbiddenError, NotFoundError } from "../errors.js";
import type { DomainEvent, DomainEvents } from "../events.js";
import type { Logger } from "../logger.js";
import type { OutboxWriter } from "../messaging/outbox.js";
import { crlReference, type PkiAccounts } from "./account-keys.js";
import type { CrlPublisher } from "./crl-publisher.js";
import type { CertificateIssuer } from "./issue-certificate.js";
import type { Revocation } from "./revocation.js";
import type { rekeyReasons } from "./schemas.js";
import { pkiStore as store } from "./store.js";
import { certificateView } from "./views.js";

export type RekeyReason = (typeof rekeyReasons)[number];

/**
 * The rekey rules: a client uploads a new key only for its first key (`initial`, while it holds
 * no valid certificate: a manually created account, or after "Revoke all keys"), when its PIN is
 * enabled or disabled, or when the duress code is used. A rekey revokes the older keys; a duress
 * rekey also audits a security event, queues an alert to the group's IT e-mail in the same
 * transaction and, if the profile says so, disables the account.
 */
export class Rekeying {
  constructor(
    private readonly deps: {
      db: Database;
      clock: Clock;
      accounts: PkiAccounts;
      issuer: CertificateIssuer;
      revocation: Revocation;
      crl: CrlPublisher;
      audit: AuditService;
      outbox: OutboxWriter;
      events: DomainEvents;
      logger: Logger;
    },
  ) {}

  async rekey(client: { accountId: string }, body: { csr: string; reason: RekeyReason }, address: string) {
    const { db, clock, accounts } = this.deps;
    const events: DomainEvent[] = [];
    const result = await db.knex.transaction(async (trx) => {
      await store.lockAccountKeys(trx, client.accountId);
      const holder = await accounts.keyHolders.find(trx, { id: client.accountId });
      if (!holder) throw new NotFoundError("no such account");
      if (holder.status === "disabled")
        throw new ForbiddenError("the account is disabled: it cannot change its key");
      if (holder.status === "pending_activation") {
        throw new ConflictError("the account waits for activation: its first key comes with the activation");
      }
      const valid = await store.validCertificatesOf(trx, holder.accountId, clock.now());
      if (body.reason === "initial" && valid.length > 0) {
        throw new ConflictError(
          `the account holds a valid key (serial ${valid[0]?.serial}): "initial" is only for an account without one; a new key needs pin_enabled, pin_disabled or duress`,
        );
      }
      const actor = systemActor(`client ${holder.username}@${holder.sipDomain}`);
      const issued = await this.deps.issuer.issueCertificate(trx, {
        holder,
        csr: body.csr,
        validityDays: holder.certificateValidityDays,
        reason: body.reason,
        actor,
      });
      const { revoked, crl, published } = await this.deps.revocation.revokeAccountKeys(trx, {
        holder,
        // Under duress the old key may be in the coercer's hands.
        reason: body.reason === "duress" ? "keyCompromise" : "superseded",
        actor,
        keep: issued.row.id,
      });
      if (body.reason === "duress") events.push(...(await this.duress(trx, holder, address, actor)));
      return { issued, revoked, crl, published };
    });
    if (result.published) this.deps.crl.adopt(result.published);
    await this.deps.events.publish(events);
    const now = clock.now();
    return {
      certificate: { ...certificateView(result.issued.row, now), pem: result.issued.pem },
      chainPem: result.issued.chainPem,
      revoked: result.revoked.map((row) => certificateView(row, now)),
      crl: crlReference(result.crl),
    };
  }

  private async duress(
    trx: Database["knex"],
    holder: KeyHolder,
    address: string,
    actor: ReturnType<typeof systemActor>,
  ): Promise<DomainEvent[]> {
    const occurredAt = this.deps.clock.now().toISOString();
    const disable = holder.duressDisablesAccount;
    let alertId: string | null = null;
    if (holder.itEmail) {
      ({ id: alertId } = await this.deps.outbox.enqueue(trx, {
        channel: "email",
        kind: "duress_alert",
        recipient: holder.itEmail,
        variables: {
          username: holder.username,
          sipDomain: holder.sipDomain,
          groupName: holder.groupName,
          occurredAt,
          sourceAddress: address,
          accountDisabled: disable ? "yes" : "no",
        },
        accountId: holder.accountId,
        organisationId: holder.organisationId,
      }));
    }
    await this.deps.audit.record(trx, actor, {
      action: "security.duress_code_used",
      targetType: "account",
      targetId: holder.accountId,
      organisationId: holder.organisationId,
      groupId: holder.groupId,
      after: {
        sourceAddress: address,
        alertRecipient: holder.itEmail,
        alertMessageId: alertId,
        accountDisabled: disable,
      },
    });
    this.deps.logger.warn(
      {
        security: "pki.duress",
        accountId: holder.accountId,
        user: `${holder.username}@${holder.sipDomain}`,
        source: address,
        alert: holder.itEmail ? "queued" : "no IT e-mail on the group or its parents",
      },
      "duress code used: the account's keys were replaced",
    );
    return disable
      ? this.deps.accounts.keyHolders.disableForSecurity(trx, holder.accountId, "duress code used", actor)
      : [];
  }
}
