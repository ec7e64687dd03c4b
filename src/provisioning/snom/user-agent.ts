/** What a snom phone says about itself in its User-Agent. */
export interface SnomUserAgent {
  /** The model as snom names it in URLs: 760, D785, 870... */
  model: string;
  /** The firmware version: 10.1.54.13 */
  firmware: string;
}

// `Mozilla/4.0 (compatible; snom760-SIP 10.1.54.13 1.1.3-s)`: model, "-SIP", then the version.
const snomAgent = /\bsnom([A-Za-z0-9]{1,16})-SIP[ /]([0-9][0-9A-Za-z._-]{0,63})/;

/** The model and firmware of a snom User-Agent; null for anything else (a browser, curl, another vendor). */
export function parseSnomUserAgent(userAgent: string | undefined): SnomUserAgent | null {
  if (!userAgent) return null;
  const match = snomAgent.exec(userAgent);
  if (!match) return null;
  return { model: match[1] as string, firmware: match[2] as string };
}
