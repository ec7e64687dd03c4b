/**
 * snom phones name time zones by their own codes (country and standard offset, with the
 * phone's built-in daylight saving rules), not by IANA names. These are the codes of the zones
 * a profile is likely to name; a zone without one is left out of the settings file, so the
 * phone keeps what it has (documented in docs/provisioning-snom.md).
 */
const snomTimeZones: Readonly<Record<string, string>> = {
  UTC: "GMT-0",
  "Etc/UTC": "GMT-0",
  "Europe/London": "GBR-0",
  "Europe/Dublin": "IRL-0",
  "Europe/Lisbon": "POR-0",
  "Europe/Zurich": "CHE+1",
  "Europe/Berlin": "GER+1",
  "Europe/Vienna": "AUT+1",
  "Europe/Paris": "FRA+1",
  "Europe/Rome": "ITA+1",
  "Europe/Madrid": "ESP+1",
  "Europe/Amsterdam": "NLD+1",
  "Europe/Brussels": "BEL+1",
  "Europe/Luxembourg": "LUX+1",
  "Europe/Copenhagen": "DNK+1",
  "Europe/Oslo": "NOR+1",
  "Europe/Stockholm": "SWE+1",
  "Europe/Warsaw": "POL+1",
  "Europe/Prague": "CZE+1",
  "Europe/Budapest": "HUN+1",
  "Europe/Helsinki": "FIN+2",
  "Europe/Athens": "GRC+2",
  "Europe/Istanbul": "TUR+3",
  "Europe/Moscow": "RUS+3",
  "America/New_York": "USA-5",
  "America/Chicago": "USA-6",
  "America/Denver": "USA-7",
  "America/Los_Angeles": "USA-8",
};

/** The snom code of an IANA time zone; null when the phone has none we know. */
export function snomTimeZone(iana: string | null): string | null {
  return iana === null ? null : (snomTimeZones[iana] ?? null);
}

/** snom's names of the languages a profile may choose (ASCII, as the phones spell them). */
const snomLanguages: Readonly<Record<string, string>> = {
  en: "English",
  de: "Deutsch",
  fr: "Francais",
  it: "Italiano",
  es: "Espanol",
};

export function snomLanguage(code: string | null): string | null {
  return code === null ? null : (snomLanguages[code] ?? null);
}
