import type { z } from "zod";
import type { Actor } from "../audit/actor.js";
import type { AuditService } from "../audit/service.js";
import type { Clock } from "../clock.js";
import type { Database } from "../db/database.js";
import { NotFoundError, ValidationError } from "../errors.js";
import type { templateBody, templateSchema } from "./schemas.js";
import { type TemplateRow, templateStore } from "./template-store.js";
import {
  type TemplateKind,
  type TemplateLanguage,
  templateKinds,
  templateLanguages,
  unknownPlaceholders,
} from "./templates.js";

type Template = z.input<typeof templateSchema>;

/** What of tenancy the templates use: the organisations an actor may see. */
export interface OrganisationAccess {
  get(actor: Actor, id: string): Promise<unknown>;
}

/** Per-organisation template overrides: listed with the built-in texts, refused when they would not render. */
export class MessageTemplates {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    private readonly organisations: OrganisationAccess,
  ) {}

  async list(actor: Actor, organisationId: string): Promise<{ items: Template[] }> {
    await this.organisations.get(actor, organisationId);
    const overrides = await templateStore.ofOrganisation(this.db.knex, organisationId);
    const items: Template[] = [];
    for (const kind of Object.keys(templateKinds) as TemplateKind[]) {
      for (const language of templateLanguages) {
        const override = overrides.find((o) => o.kind === kind && o.language === language);
        items.push(templateView(kind, language, override));
      }
    }
    return { items };
  }

  async put(
    actor: Actor,
    organisationId: string,
    kind: TemplateKind,
    language: TemplateLanguage,
    body: z.output<typeof templateBody>,
  ): Promise<Template> {
    await this.organisations.get(actor, organisationId);
    const definition = templateKinds[kind];
    const subject = body.subject ?? null;
    if (definition.channel === "sms" && subject !== null) {
      throw new ValidationError([{ path: "body.subject", message: "an SMS has no subject" }]);
    }
    if (definition.channel === "email" && subject === null) {
      throw new ValidationError([{ path: "body.subject", message: "an e-mail template needs a subject" }]);
    }
    const errors = [
      ...unknownPlaceholders(kind, { subject: null, body: body.body }).map((name) => ({
        path: "body.body",
        message: `{${name}} is not a placeholder of ${kind} (it offers ${definition.placeholders.map((p) => `{${p}}`).join(", ")})`,
      })),
      ...unknownPlaceholders(kind, { subject, body: "" }).map((name) => ({
        path: "body.subject",
        message: `{${name}} is not a placeholder of ${kind}`,
      })),
    ];
    if (errors.length > 0) throw new ValidationError(errors);
    const row: TemplateRow = {
      organisation_id: organisationId,
      kind,
      language,
      subject,
      body: body.body,
      updated_at: this.clock.now(),
    };
    await this.db.knex.transaction(async (trx) => {
      const before = await templateStore.find(trx, organisationId, kind, language);
      await templateStore.upsert(trx, row);
      await this.audit.record(trx, actor, {
        action: "organisation.message_template_changed",
        targetType: "organisation",
        targetId: organisationId,
        organisationId,
        before: before ? { kind, language, subject: before.subject, body: before.body } : null,
        after: { kind, language, subject, body: body.body },
      });
    });
    return templateView(kind, language, row);
  }

  async reset(
    actor: Actor,
    organisationId: string,
    kind: TemplateKind,
    language: TemplateLanguage,
  ): Promise<Template> {
    await this.organisations.get(actor, organisationId);
    await this.db.knex.transaction(async (trx) => {
      const before = await templateStore.find(trx, organisationId, kind, language);
      if (!before)
        throw new NotFoundError(`the organisation has no ${kind} template of its own in ${language}`);
      await templateStore.delete(trx, organisationId, kind, language);
      await this.audit.record(trx, actor, {
        action: "organisation.message_template_reset",
        targetType: "organisation",
        targetId: organisationId,
        organisationId,
        before: { kind, language, subject: before.subject, body: before.body },
      });
    });
    return templateView(kind, language, undefined);
  }
}

function templateView(
  kind: TemplateKind,
  language: TemplateLanguage,
  override: TemplateRow | undefined,
): Template {
  const definition = templateKinds[kind];
  const builtIn = definition.texts[language];
  return {
    kind,
    language,
    channel: definition.channel,
    placeholders: [...definition.placeholders],
    subject: override ? override.subject : builtIn.subject,
    body: override ? override.body : builtIn.body,
    overridden: override !== undefined,
    updatedAt: override ? override.updated_at.toISOString() : null,
  };
}
