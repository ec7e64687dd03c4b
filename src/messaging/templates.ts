/**
 * Message templates: the built-in text of each kind in each language, and the rendering of
 * `{placeholder}`s. A kind names the placeholders it offers; a template using any other is
 * refused when an operator saves it, so a saved template always renders.
 */
export const templateLanguages = ["en", "fr", "it", "es", "de"] as const;
export type TemplateLanguage = (typeof templateLanguages)[number];

export interface TemplateText {
  subject: string | null;
  body: string;
}

interface KindDefinition {
  channel: "sms" | "email";
  placeholders: readonly string[];
  texts: Record<TemplateLanguage, TemplateText>;
}

const sms = (body: string): TemplateText => ({ subject: null, body });

export const templateKinds = {
  installation_sms: {
    channel: "sms",
    placeholders: ["organisation", "link"],
    texts: {
      en: sms("{organisation}: install the secure phone app: {link}"),
      fr: sms("{organisation} : installez l'application de téléphonie sécurisée : {link}"),
      it: sms("{organisation}: installa l'app di telefonia sicura: {link}"),
      es: sms("{organisation}: instale la aplicación de telefonía segura: {link}"),
      de: sms("{organisation}: Installieren Sie die sichere Telefon-App: {link}"),
    },
  },
  activation_sms: {
    channel: "sms",
    placeholders: ["organisation", "link", "expiresAt"],
    texts: {
      en: sms(
        "{organisation}: open this link on your phone to activate the app (valid until {expiresAt}): {link}",
      ),
      fr: sms(
        "{organisation} : ouvrez ce lien sur votre téléphone pour activer l'application (valable jusqu'au {expiresAt}) : {link}",
      ),
      it: sms(
        "{organisation}: apri questo link sul telefono per attivare l'app (valido fino al {expiresAt}): {link}",
      ),
      es: sms(
        "{organisation}: abra este enlace en su teléfono para activar la aplicación (válido hasta {expiresAt}): {link}",
      ),
      de: sms(
        "{organisation}: Öffnen Sie diesen Link auf Ihrem Telefon, um die App zu aktivieren (gültig bis {expiresAt}): {link}",
      ),
    },
  },
  activation_email: {
    channel: "email",
    placeholders: ["organisation", "link", "expiresAt"],
    texts: {
      en: {
        subject: "{organisation}: activate your secure phone",
        body: "Open this link on the device to activate it:\n\n{link}\n\nThe link works once and expires on {expiresAt}.",
      },
      fr: {
        subject: "{organisation} : activez votre téléphone sécurisé",
        body: "Ouvrez ce lien sur l'appareil pour l'activer :\n\n{link}\n\nLe lien ne sert qu'une fois et expire le {expiresAt}.",
      },
      it: {
        subject: "{organisation}: attiva il tuo telefono sicuro",
        body: "Apri questo link sul dispositivo per attivarlo:\n\n{link}\n\nIl link vale una volta e scade il {expiresAt}.",
      },
      es: {
        subject: "{organisation}: active su teléfono seguro",
        body: "Abra este enlace en el dispositivo para activarlo:\n\n{link}\n\nEl enlace sirve una vez y caduca el {expiresAt}.",
      },
      de: {
        subject: "{organisation}: Aktivieren Sie Ihr sicheres Telefon",
        body: "Öffnen Sie diesen Link auf dem Gerät, um es zu aktivieren:\n\n{link}\n\nDer Link gilt einmal und läuft am {expiresAt} ab.",
      },
    },
  },
  duress_alert: {
    channel: "email",
    // The PKI sends what it knows; {details} lists every variable it sent.
    placeholders: ["details"],
    texts: {
      en: {
        subject: "Security alert: a duress code was used",
        body: "A client used its duress code. Check on the person now.\n\n{details}",
      },
      fr: {
        subject: "Alerte de sécurité : un code de contrainte a été utilisé",
        body: "Un client a utilisé son code de contrainte. Vérifiez la situation de la personne.\n\n{details}",
      },
      it: {
        subject: "Allarme di sicurezza: è stato usato un codice di coercizione",
        body: "Un client ha usato il suo codice di coercizione. Verificate subito la persona.\n\n{details}",
      },
      es: {
        subject: "Alerta de seguridad: se usó un código de coacción",
        body: "Un cliente usó su código de coacción. Compruebe ahora la situación de la persona.\n\n{details}",
      },
      de: {
        subject: "Sicherheitsalarm: ein Nötigungscode wurde verwendet",
        body: "Ein Client hat seinen Nötigungscode verwendet. Prüfen Sie sofort die Lage der Person.\n\n{details}",
      },
    },
  },
  console_invitation: {
    channel: "email",
    placeholders: ["name", "link", "expiresAt"],
    texts: {
      en: {
        subject: "Your provisioning console account",
        body: "Hello {name},\n\nan account on the provisioning console was made for you. Open this link to choose your password:\n\n{link}\n\nThe link works once and expires on {expiresAt}.",
      },
      fr: {
        subject: "Votre compte sur la console de provisionnement",
        body: "Bonjour {name},\n\nun compte sur la console de provisionnement a été créé pour vous. Ouvrez ce lien pour choisir votre mot de passe :\n\n{link}\n\nLe lien ne sert qu'une fois et expire le {expiresAt}.",
      },
      it: {
        subject: "Il tuo account sulla console di provisioning",
        body: "Ciao {name},\n\nè stato creato per te un account sulla console di provisioning. Apri questo link per scegliere la password:\n\n{link}\n\nIl link vale una volta e scade il {expiresAt}.",
      },
      es: {
        subject: "Su cuenta en la consola de aprovisionamiento",
        body: "Hola {name}:\n\nse ha creado para usted una cuenta en la consola de aprovisionamiento. Abra este enlace para elegir su contraseña:\n\n{link}\n\nEl enlace sirve una vez y caduca el {expiresAt}.",
      },
      de: {
        subject: "Ihr Zugang zur Provisionierungskonsole",
        body: "Hallo {name},\n\nfür Sie wurde ein Zugang zur Provisionierungskonsole eingerichtet. Öffnen Sie diesen Link, um Ihr Passwort zu wählen:\n\n{link}\n\nDer Link gilt einmal und läuft am {expiresAt} ab.",
      },
    },
  },
  password_reset: {
    channel: "email",
    placeholders: ["name", "link", "expiresAt"],
    texts: {
      en: {
        subject: "Reset your provisioning console password",
        body: "Hello {name},\n\nsomeone asked to reset your password on the provisioning console. If it was you, open this link to choose a new one:\n\n{link}\n\nThe link works once and expires on {expiresAt}. If it was not you, ignore this message: your password stays as it is.",
      },
      fr: {
        subject: "Réinitialisez votre mot de passe de la console de provisionnement",
        body: "Bonjour {name},\n\nquelqu'un a demandé à réinitialiser votre mot de passe de la console de provisionnement. Si c'était vous, ouvrez ce lien pour en choisir un nouveau :\n\n{link}\n\nLe lien ne sert qu'une fois et expire le {expiresAt}. Sinon, ignorez ce message : votre mot de passe ne change pas.",
      },
      it: {
        subject: "Reimposta la password della console di provisioning",
        body: "Ciao {name},\n\nqualcuno ha chiesto di reimpostare la tua password della console di provisioning. Se sei stato tu, apri questo link per sceglierne una nuova:\n\n{link}\n\nIl link vale una volta e scade il {expiresAt}. Altrimenti ignora questo messaggio: la password resta invariata.",
      },
      es: {
        subject: "Restablezca su contraseña de la consola de aprovisionamiento",
        body: "Hola {name}:\n\nalguien pidió restablecer su contraseña de la consola de aprovisionamiento. Si fue usted, abra este enlace para elegir una nueva:\n\n{link}\n\nEl enlace sirve una vez y caduca el {expiresAt}. Si no fue usted, ignore este mensaje: su contraseña no cambia.",
      },
      de: {
        subject: "Passwort der Provisionierungskonsole zurücksetzen",
        body: "Hallo {name},\n\njemand hat verlangt, Ihr Passwort der Provisionierungskonsole zurückzusetzen. Wenn Sie es waren, öffnen Sie diesen Link, um ein neues zu wählen:\n\n{link}\n\nDer Link gilt einmal und läuft am {expiresAt} ab. Wenn nicht, ignorieren Sie diese Nachricht: Ihr Passwort bleibt unverändert.",
      },
    },
  },
  renewal_reminder: {
    channel: "email",
    // Sent by subscriptions (src/subscriptions/schedule.ts) once a week in the 4 weeks before a renewal.
    placeholders: ["organisation", "recipient", "account", "plan", "renewsOn", "week"],
    texts: {
      en: {
        subject: "{organisation}: {account} renews on {renewsOn}",
        body: "Hello {recipient},\n\nthe {plan} subscription of {account} renews automatically on {renewsOn}. To end it instead, ask for its deactivation in the portal before that day; to keep it, confirm the renewal there.\n\nReminder {week} of 4.",
      },
      fr: {
        subject: "{organisation} : {account} se renouvelle le {renewsOn}",
        body: "Bonjour {recipient},\n\nl'abonnement {plan} de {account} se renouvelle automatiquement le {renewsOn}. Pour y mettre fin, demandez sa désactivation dans le portail avant cette date ; pour le garder, confirmez-y le renouvellement.\n\nRappel {week} sur 4.",
      },
      it: {
        subject: "{organisation}: {account} si rinnova il {renewsOn}",
        body: "Buongiorno {recipient},\n\nl'abbonamento {plan} di {account} si rinnova automaticamente il {renewsOn}. Per terminarlo, chiedetene la disattivazione nel portale prima di quel giorno; per mantenerlo, confermate lì il rinnovo.\n\nPromemoria {week} di 4.",
      },
      es: {
        subject: "{organisation}: {account} se renueva el {renewsOn}",
        body: "Hola {recipient}:\n\nla suscripción {plan} de {account} se renueva automáticamente el {renewsOn}. Para terminarla, pida su desactivación en el portal antes de ese día; para mantenerla, confirme allí la renovación.\n\nAviso {week} de 4.",
      },
      de: {
        subject: "{organisation}: {account} verlängert sich am {renewsOn}",
        body: "Hallo {recipient},\n\ndas {plan}-Abonnement von {account} verlängert sich am {renewsOn} automatisch. Um es zu beenden, beantragen Sie vor diesem Tag im Portal die Deaktivierung; um es zu behalten, bestätigen Sie dort die Verlängerung.\n\nErinnerung {week} von 4.",
      },
    },
  },
} satisfies Record<string, KindDefinition>;

export type TemplateKind = keyof typeof templateKinds;
export const templateKindNames = Object.keys(templateKinds) as TemplateKind[];

const placeholderPattern = /\{([A-Za-z][A-Za-z0-9_]*)\}/g;

export function placeholdersOf(text: string): string[] {
  return [...text.matchAll(placeholderPattern)].map((match) => match[1] as string);
}

export function isTemplateKind(kind: string): kind is TemplateKind {
  return Object.hasOwn(templateKinds, kind);
}

export function languageOf(value: string | null | undefined): TemplateLanguage {
  return (templateLanguages as readonly string[]).includes(value ?? "") ? (value as TemplateLanguage) : "en";
}

/** Placeholders a template uses that its kind does not offer (empty: it renders). */
export function unknownPlaceholders(kind: TemplateKind, template: TemplateText): string[] {
  const offered = new Set<string>(templateKinds[kind].placeholders);
  const used = [...placeholdersOf(template.body), ...placeholdersOf(template.subject ?? "")];
  return [...new Set(used.filter((name) => !offered.has(name)))];
}

export class TemplateRenderError extends Error {}

/** `{details}` is every variable, one `name: value` a line, for kinds whose senders vary. */
function withDetails(variables: Record<string, string>): Record<string, string> {
  const details = Object.entries(variables)
    .map(([key, value]) => `${key}: ${value}`)
    .join("\n");
  return { details, ...variables };
}

export function renderText(text: string, variables: Record<string, string>): string {
  const values = withDetails(variables);
  return text.replace(placeholderPattern, (_whole, name: string) => {
    const value = values[name];
    if (value === undefined)
      throw new TemplateRenderError(`the template needs {${name}}, which was not given`);
    return value;
  });
}

/**
 * A kind no template knows (a later capability's, before its template exists) still goes out:
 * a neutral subject naming the kind and the variables as lines, rather than being dropped.
 */
export function fallbackTemplate(kind: string): TemplateText {
  const title = kind.replace(/_/g, " ");
  return { subject: `provisiond: ${title}`, body: `${title}\n\n{details}` };
}
