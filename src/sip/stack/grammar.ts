/**
 * The structured views of SIP header values (RFC 3261 section 25): what src/sip/stack/parser.ts
 * produces from a Via, a name-addr, a CSeq or a URI. Types only, importing nothing, so that
 * messages, the parser and the layers above can all name them without depending on each other.
 */

/** Header or URI parameters: names lowercased, values unquoted, null for a parameter without a value. */
export type Params = Map<string, string | null>;

export interface SipUri {
  scheme: "sip" | "sips" | "tel";
  user: string | null;
  password: string | null;
  host: string;
  port: number | null;
  params: Params;
  headers: string | null;
}

export interface NameAddr {
  displayName: string | null;
  uri: string;
  parsedUri: SipUri;
  /** Header parameters (after the URI): tag, expires, q, ... */
  params: Params;
}

export interface Via {
  protocol: string;
  /** UDP, TCP, TLS, WS, WSS, SCTP (upper case). */
  transport: string;
  host: string;
  port: number | null;
  params: Params;
  branch: string | null;
}

export interface CSeq {
  seq: number;
  method: string;
}

export type ContactList = { star: true } | { star: false; contacts: NameAddr[] };
