import { XMLBuilder } from "fast-xml-parser";
import type { PhoneSettingsContext } from "../../accounts/service.js";
import { snomLanguage, snomTimeZone } from "./phone-locale.js";

/**
 * snom's permission flag per setting: "R" the user cannot change it on the phone, "RW" the
 * file's value is a default the user may change.
 */
type Permission = "R" | "RW";

interface Setting {
  name: string;
  value: string;
  perm: Permission;
  /** Identity settings are per line: idx="1" is identity 1. */
  idx?: number;
}

/** Everything the file says, in order; the XML is only its serialisation. */
export interface SnomSettings {
  settings: Setting[];
}

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  format: true,
  suppressEmptyNode: false,
  // The builder escapes &, <, >, " and ' in text and attribute values.
  processEntities: true,
});

/**
 * Characters XML 1.0 cannot carry at all, escaped or not: C0 controls but tab, newline and
 * carriage return, and U+FFFE/U+FFFF. A display name with one of them would make the whole file
 * unreadable to the phone, so they are dropped.
 */
function xmlSafe(value: string): string {
  let out = "";
  for (const char of value) {
    const code = char.codePointAt(0) as number;
    const allowed =
      code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code !== 0xfffe && code !== 0xffff);
    if (allowed) out += char;
  }
  return out;
}

/** Where the phone registers: the profile's server host, on TLS when the profile requires it. */
function outboundProxy(context: PhoneSettingsContext): string {
  const { transports, tlsRequired } = context.settings;
  const host = context.serverHost;
  if (tlsRequired || (!transports.udp.enabled && !transports.tcp.enabled)) {
    return `${host}:${transports.tls.port};transport=tls`;
  }
  if (transports.udp.enabled) return `${host}:${transports.udp.port}`;
  return `${host}:${transports.tcp.port};transport=tcp`;
}

const srtpSettings = {
  disabled: { srtp: "off", savp: "off" },
  optional: { srtp: "on", savp: "optional" },
  mandatory: { srtp: "on", savp: "mandatory" },
} as const;

/** What a phone whose account does not work reads on its display instead of a name. */
export function disabledRealname(reason: string | null): string {
  return reason ? `Account disabled: ${reason}` : "Account disabled";
}

/**
 * The settings of identity 1 and the phone for an account. A disabled account (its own status,
 * or its organisation or a group above it inactive) gets the same file without a password and
 * with identity 1 switched off, so the phone stops registering and shows why.
 */
export function snomSettings(context: PhoneSettingsContext, settingServer: string): SnomSettings {
  const working = context.status === "active" && context.password !== null;
  const srtp = srtpSettings[context.settings.srtp];
  const identity = (name: string, value: string): Setting => ({ name, value, perm: "R", idx: 1 });
  const settings: Setting[] = [
    identity("user_active", working ? "on" : "off"),
    identity(
      "user_realname",
      working ? (context.displayName ?? context.username) : disabledRealname(context.disabledReason),
    ),
    identity("user_name", context.username),
    identity("user_pname", context.username),
    identity("user_pass", working ? (context.password as string) : ""),
    identity("user_host", context.sipDomain),
    identity("user_outbound", outboundProxy(context)),
    identity("user_srtp", srtp.srtp),
    identity("user_savp", srtp.savp),
    { name: "setting_server", value: settingServer, perm: "R" },
  ];
  const timezone = snomTimeZone(context.settings.snom.timezone);
  if (timezone) settings.push({ name: "timezone", value: timezone, perm: "RW" });
  const language = snomLanguage(context.settings.snom.language);
  if (language) {
    settings.push({ name: "language", value: language, perm: "RW" });
    settings.push({ name: "web_language", value: language, perm: "RW" });
  }
  return { settings };
}

/** The file in snom's XML settings format (`<settings><phone-settings>`), built by the XML library. */
export function snomSettingsXml(file: SnomSettings): string {
  const phoneSettings: Record<string, unknown> = { "@_e": "2" };
  for (const setting of file.settings) {
    const element = {
      ...(setting.idx === undefined ? {} : { "@_idx": String(setting.idx) }),
      "@_perm": setting.perm,
      "#text": xmlSafe(setting.value),
    };
    const existing = phoneSettings[setting.name];
    phoneSettings[setting.name] = existing === undefined ? [element] : [...(existing as unknown[]), element];
  }
  return builder.build({
    "?xml": { "@_version": "1.0", "@_encoding": "utf-8" },
    settings: { "phone-settings": phoneSettings },
  }) as string;
}
