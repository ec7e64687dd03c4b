import type { Knex } from "knex";
import type { z } from "zod";
import { type AccountRow, accountsStore } from "../accounts/store.js";
import type { Actor } from "../audit/actor.js";
import type { AuditService } from "../audit/service.js";
import type { Clock } from "../clock.js";
import type { Database } from "../db/database.js";
import { ConflictError, ForbiddenError, NotFoundError } from "../errors.js";
import { ids } from "../ids.js";
import type { Logger } from "../logger.js";
import { type RequestKind, type Subscription, subscriptionView } from "./account-subscription.js";
import { dayFromColumn, dayOf, firstRenewal, isDueSoon, lastContractedDay } from "./periods.js";
import type { rejectBody, requestBody } from "./schemas.js";
import { type SubscriptionRequestRow, subscriptionsStore as store } from "./store.js";
import { requestView, type SubscriptionRequest } from "./views.js";

/** What subscriptions needs of the accounts capability: its checks, and enable/disable so SIP and licensing see them. */
export interface AccountsForSubscriptions {
  assertAccountVisible(actor: Actor, accountId: string): Promise<void>;
  assertAccountWritable(actor: Actor, accountId: string): Promise<void>;
  enable(actor: Actor, accountId: string): Promise<unknown>;
  disable(actor: Actor, accountId: string, reason: string): Promise<unknown>;
}

export interface RequestOutcome {
  request: SubscriptionRequest;
  subscription: Subscription;
}

/** After an approved activation of a wizard account still waiting: the activation SMS (messaging's). */
export type SendActivationSms = (actor: Actor, accountId: string) => Promise<unknown>;

/**
 * Activation and deactivation requests, their decisions, and renewal confirmations. Each change
 * of the subscription and its audit event share one transaction; the account row is locked first,
 * so two requests at once are one request and a 409.
 */
export class SubscriptionRequests {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    private readonly accounts: AccountsForSubscriptions,
    private readonly sendActivationSms: SendActivationSms,
    private readonly logger: Logger,
  ) {}

  async requestActivation(
    actor: Actor,
    accountId: string,
    body: z.output<typeof requestBody>,
  ): Promise<RequestOutcome> {
    return this.request(actor, accountId, "activation", body, (row) => {
      if (row.subscription_state === "active" && row.status === "active") {
        throw new ConflictError("the account is active: there is nothing to activate");
      }
      return { state: "activation_pending", endsOn: null };
    });
  }

  async requestDeactivation(
    actor: Actor,
    accountId: string,
    body: z.output<typeof requestBody>,
  ): Promise<RequestOutcome> {
    return this.request(actor, accountId, "deactivation", body, (row, today) => {
      if (row.subscription_state !== "active") {
        throw new ConflictError(
          `the subscription is ${row.subscription_state}: only an active one can be ended`,
        );
      }
      return {
        state: "deactivation_pending",
        endsOn: lastContractedDay(row.billing_plan, dayFromColumn(row.renews_on), today),
      };
    });
  }

  async approve(actor: Actor, accountId: string, requestId: string): Promise<RequestOutcome> {
    const { outcome, account } = await this.decide(
      actor,
      accountId,
      requestId,
      "approved",
      null,
      (request, row, today) => {
        if (request.kind === "deactivation") {
          // Still deactivation_pending: the contract runs to its last day, when the schedule ends it.
          return { pending_request_id: null };
        }
        const renewsOn = dayFromColumn(row.renews_on);
        const nextRenewal =
          row.billing_plan === "monthly"
            ? null
            : renewsOn && renewsOn > today
              ? renewsOn
              : firstRenewal(row.billing_plan, today);
        return {
          subscription_state: "active",
          pending_request_id: null,
          subscription_ends_on: null,
          renewed_without_notice: false,
          renews_on: nextRenewal,
          due_soon: isDueSoon(nextRenewal, today),
        };
      },
    );
    if (outcome.request.kind === "activation") await this.makeUsable(actor, account);
    return outcome;
  }

  async reject(
    actor: Actor,
    accountId: string,
    requestId: string,
    body: z.output<typeof rejectBody>,
  ): Promise<RequestOutcome> {
    const { outcome } = await this.decide(actor, accountId, requestId, "rejected", body.reason, (request) =>
      this.revert(request),
    );
    return outcome;
  }

  async withdraw(actor: Actor, accountId: string, requestId: string): Promise<RequestOutcome> {
    const { outcome } = await this.decide(actor, accountId, requestId, "withdrawn", null, (request) => {
      const principal = actor.principal;
      if (principal.role !== "operator" && request.requested_by_user_id !== principal.userId) {
        throw new ForbiddenError("only the requester or an operator withdraws a request");
      }
      return this.revert(request);
    });
    return outcome;
  }

  /** Confirms the coming (or the passed, flagged) renewal: clears the red caution; early is allowed. */
  async confirmRenewal(
    actor: Actor,
    accountId: string,
  ): Promise<{ accountId: string; subscription: Subscription }> {
    await this.accounts.assertAccountWritable(actor, accountId);
    return this.db.knex.transaction(async (trx) => {
      const row = await this.lockAccount(trx, actor, accountId);
      if (row.billing_plan === "monthly") throw new ConflictError("a monthly plan has no renewal to confirm");
      if (row.subscription_state !== "active") {
        throw new ConflictError(
          `the subscription is ${row.subscription_state}: there is no renewal to confirm`,
        );
      }
      const before = subscriptionView(row);
      if (before.renewalConfirmed && !before.renewedWithoutNotice) return { accountId, subscription: before };
      const after = await store.updateSubscription(
        trx,
        accountId,
        null,
        { renewed_without_notice: false, renewal_confirmed_on: before.renewsOn },
        this.clock.now(),
      );
      const subscription = subscriptionView(after as AccountRow);
      await this.record(trx, actor, "subscription.renewal_confirmed", row, before, subscription);
      return { accountId, subscription };
    });
  }

  async history(actor: Actor, accountId: string): Promise<{ items: SubscriptionRequest[] }> {
    await this.accounts.assertAccountVisible(actor, accountId);
    const rows = await store.requestsOf(this.db.knex, accountId, 500);
    return { items: rows.map(requestView) };
  }

  private async request(
    actor: Actor,
    accountId: string,
    kind: RequestKind,
    body: z.output<typeof requestBody>,
    decide: (
      row: AccountRow,
      today: string,
    ) => { state: AccountRow["subscription_state"]; endsOn: string | null },
  ): Promise<RequestOutcome> {
    await this.accounts.assertAccountWritable(actor, accountId);
    return this.db.knex.transaction(async (trx) => {
      const row = await this.lockAccount(trx, actor, accountId);
      if (row.pending_request_id) throw new ConflictError("a request for this account is pending already");
      const now = this.clock.now();
      const { state, endsOn } = decide(row, dayOf(now));
      const request = await store.insertRequest(trx, {
        id: ids.uuid(),
        account_id: accountId,
        kind,
        status: "pending",
        previous_state: row.subscription_state,
        note: body.note ?? null,
        ends_on: endsOn,
        requested_by_user_id: actor.principal.userId,
        requested_by: actor.principal.email,
        requested_at: now,
      });
      const after = (await store.updateSubscription(
        trx,
        accountId,
        null,
        {
          subscription_state: state,
          pending_request_id: request.id,
          subscription_ends_on: endsOn,
          ...(state === "deactivation_pending" ? { due_soon: false } : {}),
        },
        now,
      )) as AccountRow;
      const outcome = { request: requestView(request), subscription: subscriptionView(after) };
      await this.record(trx, actor, `subscription.${kind}_requested`, row, subscriptionView(row), outcome);
      return outcome;
    });
  }

  private async decide(
    actor: Actor,
    accountId: string,
    requestId: string,
    status: "approved" | "rejected" | "withdrawn",
    reason: string | null,
    changes: (request: SubscriptionRequestRow, row: AccountRow, today: string) => Partial<AccountRow>,
  ): Promise<{ outcome: RequestOutcome; account: AccountRow }> {
    await this.accounts.assertAccountWritable(actor, accountId);
    return this.db.knex.transaction(async (trx) => {
      const row = await this.lockAccount(trx, actor, accountId);
      const request = await store.findRequest(trx, accountId, requestId, true);
      if (!request) throw new NotFoundError("no such request for this account");
      if (request.status !== "pending") throw new ConflictError(`the request is ${request.status} already`);
      const now = this.clock.now();
      const accountChanges = changes(request, row, dayOf(now));
      const decided = await store.decideRequest(trx, request.id, {
        status,
        decided_by_user_id: actor.principal.userId,
        decided_by: actor.principal.email,
        decided_at: now,
        reason,
      });
      const after = (await store.updateSubscription(trx, accountId, null, accountChanges, now)) as AccountRow;
      const outcome = { request: requestView(decided), subscription: subscriptionView(after) };
      await this.record(
        trx,
        actor,
        `subscription.${request.kind}_${status}`,
        row,
        subscriptionView(row),
        outcome,
      );
      return { outcome, account: after };
    });
  }

  /** A rejected or withdrawn request leaves the subscription as it was before it. */
  private revert(request: SubscriptionRequestRow): Partial<AccountRow> {
    return {
      subscription_state: request.previous_state,
      pending_request_id: null,
      subscription_ends_on: null,
    };
  }

  /**
   * An approved activation enables a disabled account through the accounts capability (so SIP
   * and licensing hear of it): a wizard account never activated goes back to waiting for its
   * app, and gets its activation SMS; any other becomes active.
   */
  private async makeUsable(actor: Actor, row: AccountRow): Promise<void> {
    let status = row.status;
    if (status === "disabled") {
      try {
        await this.accounts.enable(actor, row.id);
        status = row.activated_at ? "active" : "pending_activation";
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
      }
    }
    if (status === "pending_activation" && row.type === "PGSM" && row.phone_number) {
      try {
        await this.sendActivationSms(actor, row.id);
      } catch (error) {
        // The approval stands; the operator can send the SMS again from the account.
        this.logger.warn(
          { err: error, accountId: row.id },
          "activation SMS after an approved activation failed",
        );
      }
    }
  }

  private async lockAccount(trx: Knex, actor: Actor, accountId: string): Promise<AccountRow> {
    const row = await accountsStore.findVisibleAccount(trx, actor.principal.scope, accountId, true);
    if (!row) throw new NotFoundError("no such account");
    return row;
  }

  private async record(
    trx: Knex,
    actor: Actor,
    action: string,
    row: AccountRow,
    before: Subscription,
    after: RequestOutcome | Subscription,
  ): Promise<void> {
    await this.audit.record(trx, actor, {
      action,
      targetType: "account",
      targetId: row.id,
      organisationId: await store.organisationOfGroup(trx, row.group_id),
      groupId: row.group_id,
      before: { subscription: before },
      after: "request" in after ? { ...after } : { subscription: after },
    });
  }
}
