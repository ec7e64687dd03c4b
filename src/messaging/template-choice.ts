import type { Knex } from "knex";
import { templateStore } from "./template-store.js";
import {
  fallbackTemplate,
  isTemplateKind,
  languageOf,
  renderText,
  type TemplateText,
  templateKinds,
} from "./templates.js";

/** The template a message of this kind uses: the organisation's override, the built-in one, or the fallback. */
export async function templateFor(
  db: Knex,
  organisationId: string | null,
  kind: string,
  language: string,
): Promise<TemplateText> {
  const lang = languageOf(language);
  if (organisationId) {
    const override = await templateStore.find(db, organisationId, kind, lang);
    if (override) return { subject: override.subject, body: override.body };
  }
  return isTemplateKind(kind) ? templateKinds[kind].texts[lang] : fallbackTemplate(kind);
}

export async function renderMessage(
  db: Knex,
  message: {
    organisationId: string | null;
    kind: string;
    language: string;
    variables: Record<string, string>;
  },
): Promise<{ subject: string | null; text: string }> {
  const template = await templateFor(db, message.organisationId, message.kind, message.language);
  return {
    subject: template.subject === null ? null : renderText(template.subject, message.variables),
    text: renderText(template.body, message.variables),
  };
}
