import { parsePhoneNumberWithError } from "libphonenumber-js/max";

/** An E.164 number (+ and digits) from what a person typed, or null if it is not a valid number. */
export function normalisePhoneNumber(input: string): string | null {
  const trimmed = input.trim().replace(/[\s()-]/g, "");
  if (!trimmed.startsWith("+") && !trimmed.startsWith("00")) return null;
  try {
    const parsed = parsePhoneNumberWithError(trimmed.startsWith("00") ? `+${trimmed.slice(2)}` : trimmed);
    return parsed.isValid() ? parsed.number : null;
  } catch {
    return null;
  }
}

/**
 * A MAC address as 12 upper-case hex digits, the form SNOM phones use in their provisioning
 * URLs, from any of the usual notations (00:04:13:aa:bb:cc, 00-04-13-AA-BB-CC, 0004.13aa.bbcc).
 */
export function normaliseMac(input: string): string | null {
  const hex = input.trim().replace(/[:\-.\s]/g, "");
  if (!/^[0-9a-fA-F]{12}$/.test(hex)) return null;
  const mac = hex.toUpperCase();
  // Broadcast, all-zero and multicast addresses never belong to a phone.
  if (mac === "FFFFFFFFFFFF" || mac === "000000000000") return null;
  if (Number.parseInt(mac.slice(0, 2), 16) & 1) return null;
  return mac;
}

/** A DNS host name or IPv4 address in lower case: what SIP domains and server hosts are. */
export const hostnamePattern =
  /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** SIP usernames here are numeric, as the PGSM app and the numbering plan expect. */
export const usernamePattern = /^[0-9]{3,20}$/;

/** Printable ASCII without quote or backslash, which digest headers and SNOM XML would need to escape. */
export const passwordPattern = /^[\x21\x23-\x5b\x5d-\x7e]{8,128}$/;
