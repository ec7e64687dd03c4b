import type { Knex } from "knex";
import QRCode from "qrcode";
import type { MessagingContext } from "../accounts/service.js";
import type { Actor } from "../audit/actor.js";
import type { AuditService } from "../audit/service.js";
import type { Database } from "../db/database.js";
import { NotFoundError, UnprocessableError } from "../errors.js";
import { ids } from "../ids.js";
import type { ActivationLinks } from "./activation-links.js";
import type { Outbox, OutboxDraft } from "./outbox.js";
import { type OutboxRow, outboxStore } from "./outbox-store.js";
import { smsLength } from "./sms-encoding.js";
import { renderMessage } from "./template-choice.js";
import { type Message, messageView } from "./views.js";

/** What of the accounts capability messaging uses. */
export interface AccountsForMessaging {
  assertAccountWritable(actor: Actor, accountId: string): Promise<void>;
  assertAccountVisible(actor: Actor, accountId: string): Promise<void>;
  messagingContext(accountId: string): Promise<MessagingContext | null>;
}

export interface AccountMessagesOptions {
  maxSegments: number;
  reachablePrefixes: readonly string[];
  /** Where links point: messaging.publicUrl, else this server's own URL once it listens. */
  publicUrl: () => string;
}

/** "2026-12-05 10:00 UTC": short enough for an SMS, unambiguous in every language. */
export const expiryText = (date: Date): string => `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;

/**
 * The operators' messaging actions on an account: installation SMS, activation SMS, activation
 * link (answered with a QR code, optionally e-mailed). Each checks everything before it writes,
 * then writes the outbox row and the audit event in one transaction.
 */
export class AccountMessages {
  constructor(
    private readonly db: Database,
    private readonly accounts: AccountsForMessaging,
    private readonly audit: AuditService,
    private readonly outbox: Outbox,
    private readonly links: ActivationLinks,
    private readonly options: AccountMessagesOptions,
  ) {}

  async sendInstallationSms(actor: Actor, accountId: string): Promise<Message> {
    const account = await this.appAccount(actor, accountId);
    const to = this.reachableNumber(account);
    const code = ids.secret(9);
    const link = `${this.options.publicUrl()}/i/${code}`;
    const draft = await this.smsDraft(this.db.knex, account, "installation_sms", to, {
      organisation: account.organisationName,
      link,
    });
    return this.queue(actor, account, { ...draft, linkCode: code }, "account.installation_sms_queued");
  }

  async sendActivationSms(actor: Actor, accountId: string): Promise<Message> {
    const account = await this.appAccount(actor, accountId);
    const to = this.reachableNumber(account);
    return this.db.knex.transaction(async (trx) => {
      const { url, expiresAt } = await this.links.create(trx, accountId, this.options.publicUrl());
      const draft = await this.smsDraft(trx, account, "activation_sms", to, {
        organisation: account.organisationName,
        link: url,
        expiresAt: expiryText(expiresAt),
      });
      return this.queueIn(trx, actor, account, draft, "account.activation_sms_queued", { expiresAt });
    });
  }

  async createActivationLink(
    actor: Actor,
    accountId: string,
    body: { email?: string | undefined } | undefined,
  ): Promise<{ url: string; expiresAt: string; qrSvg: string; message: Message | null }> {
    const account = await this.appAccount(actor, accountId);
    return this.db.knex.transaction(async (trx) => {
      const { url, expiresAt } = await this.links.create(trx, accountId, this.options.publicUrl());
      let message: Message | null = null;
      if (body?.email) {
        const variables = {
          organisation: account.organisationName,
          link: url,
          expiresAt: expiryText(expiresAt),
        };
        const rendered = await renderMessage(trx, {
          organisationId: account.organisationId,
          kind: "activation_email",
          language: account.language,
          variables,
        });
        message = await this.queueIn(
          trx,
          actor,
          account,
          {
            channel: "email",
            kind: "activation_email",
            recipient: body.email,
            language: account.language,
            variables,
            text: rendered.text,
            ...(rendered.subject ? { subject: rendered.subject } : {}),
          },
          "account.activation_email_queued",
          { expiresAt },
        );
      } else {
        await this.audit.record(trx, actor, {
          action: "account.activation_link_created",
          targetType: "account",
          targetId: accountId,
          organisationId: account.organisationId,
          groupId: account.groupId,
          after: { expiresAt: expiresAt.toISOString() },
        });
      }
      const qrSvg = await QRCode.toString(url, { type: "svg", errorCorrectionLevel: "M", margin: 2 });
      return { url, expiresAt: expiresAt.toISOString(), qrSvg, message };
    });
  }

  async list(actor: Actor, accountId: string, limit: number): Promise<{ items: Message[] }> {
    await this.accounts.assertAccountVisible(actor, accountId);
    return { items: await this.ofAccount(accountId, limit) };
  }

  /** The account's messages, newest first, each with its status history (the "messages" detail section). */
  async ofAccount(accountId: string, limit: number): Promise<Message[]> {
    const rows = await outboxStore.byAccount(this.db.knex, accountId, limit);
    return this.withHistory(this.db.knex, rows);
  }

  private async withHistory(db: Knex, rows: OutboxRow[]): Promise<Message[]> {
    const history = await outboxStore.history(
      db,
      rows.map((row) => row.id),
    );
    return rows.map((row) =>
      messageView(
        row,
        history.filter((h) => h.message_id === row.id),
      ),
    );
  }

  /** A PGSM account that is not disabled: SNOM desk phones have no app to install or activate. */
  private async appAccount(actor: Actor, accountId: string): Promise<MessagingContext> {
    await this.accounts.assertAccountWritable(actor, accountId);
    const account = await this.accounts.messagingContext(accountId);
    if (!account) throw new NotFoundError("no such account");
    if (account.type === "SNOM") {
      throw new UnprocessableError("type: a SNOM account has no app to install or activate");
    }
    if (account.status === "disabled") {
      throw new UnprocessableError("status: the account is disabled; enable it before sending it messages");
    }
    return account;
  }

  private reachableNumber(account: MessagingContext): string {
    const number = account.phoneNumber;
    if (!number)
      throw new UnprocessableError("phoneNumber: the account has no phone number to send an SMS to");
    const prefixes = this.options.reachablePrefixes;
    if (prefixes.length > 0 && !prefixes.some((prefix) => number.startsWith(prefix))) {
      throw new UnprocessableError(
        `phoneNumber: ${number} cannot be reached through the SMS gateway (it reaches ${prefixes.join(", ")})`,
      );
    }
    return number;
  }

  private async smsDraft(
    db: Knex,
    account: MessagingContext,
    kind: "installation_sms" | "activation_sms",
    to: string,
    variables: Record<string, string>,
  ): Promise<OutboxDraft> {
    const rendered = await renderMessage(db, {
      organisationId: account.organisationId,
      kind,
      language: account.language,
      variables,
    });
    const length = smsLength(rendered.text);
    if (length.segments > this.options.maxSegments) {
      throw new UnprocessableError(
        `text: the ${kind.replace("_", " ")} takes ${length.segments} ${length.encoding} segments, more than the ${this.options.maxSegments} allowed (shorten the organisation's template)`,
      );
    }
    return {
      channel: "sms",
      kind,
      recipient: to,
      language: account.language,
      variables,
      text: rendered.text,
      encoding: length.encoding,
      segments: length.segments,
    };
  }

  private queue(
    actor: Actor,
    account: MessagingContext,
    draft: OutboxDraft,
    action: string,
  ): Promise<Message> {
    return this.db.knex.transaction((trx) => this.queueIn(trx, actor, account, draft, action));
  }

  private async queueIn(
    trx: Knex,
    actor: Actor,
    account: MessagingContext,
    draft: OutboxDraft,
    action: string,
    extra: { expiresAt?: Date } = {},
  ): Promise<Message> {
    const { id } = await this.outbox.enqueue(trx, {
      ...draft,
      organisationId: account.organisationId,
      accountId: account.accountId,
    });
    await this.audit.record(trx, actor, {
      action,
      targetType: "account",
      targetId: account.accountId,
      organisationId: account.organisationId,
      groupId: account.groupId,
      after: {
        messageId: id,
        channel: draft.channel,
        recipient: draft.recipient,
        ...(extra.expiresAt ? { expiresAt: extra.expiresAt.toISOString() } : {}),
      },
    });
    const row = (await outboxStore.find(trx, id)) as OutboxRow;
    const [message] = await this.withHistory(trx, [row]);
    return message as Message;
  }
}
