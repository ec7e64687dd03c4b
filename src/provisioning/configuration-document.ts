import type { ActivationTarget } from "../accounts/service.js";
import type { IssuedCertificate } from "../pki/service.js";
import { type ConfigurationDocument, documentVersion } from "./schemas.js";

/** What the document says of this server, besides the account's profile. */
export interface ServerFacts {
  /** The base URL devices reach this server at (messaging.publicUrl, else the listener's URL). */
  url: string;
  caFingerprint: string;
  /** The key license envelopes are signed with (proxy mode). */
  licenseSigningKey: { keyId: string; publicKeyPem: string };
  /** license.vendorUrl: where a direct-mode app checks its license; null when none is configured. */
  licenseVendorUrl: string | null;
}

type Transport = ConfigurationDocument["sip"]["transports"][number];

/**
 * The transports the profile enables, secure ones first; only TLS and WSS when the profile
 * requires TLS. The ports are the profile's: they are what devices are told (the server may sit
 * behind a port mapping), the same as a SNOM phone's settings.
 */
export function profileTransports(settings: ActivationTarget["settings"]): Transport[] {
  const t = settings.transports;
  const list: Transport[] = [];
  if (t.tls.enabled) list.push({ transport: "tls", port: t.tls.port });
  if (t.wss.enabled) list.push({ transport: "wss", port: t.wss.port, path: t.wss.path });
  if (!settings.tlsRequired) {
    if (t.tcp.enabled) list.push({ transport: "tcp", port: t.tcp.port });
    if (t.udp.enabled) list.push({ transport: "udp", port: t.udp.port });
  }
  return list;
}

/** Everything of the document but the password, which only the answer itself carries. */
export type StoredDocument = Omit<ConfigurationDocument, "sip"> & {
  sip: Omit<ConfigurationDocument["sip"], "password">;
};

/** The configuration document of an activation, without its password (see withPassword). */
export function configurationDocument(input: {
  target: ActivationTarget;
  issued: IssuedCertificate;
  server: ServerFacts;
  issuedAt: Date;
}): StoredDocument {
  const { target, issued, server } = input;
  const settings = target.settings;
  const proxy = settings.licenseMode === "proxy";
  return {
    version: documentVersion,
    issuedAt: input.issuedAt.toISOString(),
    server: { url: server.url, caFingerprint: server.caFingerprint },
    account: {
      id: target.accountId,
      displayName: target.displayName,
      sipUri: `sip:${target.username}@${target.sipDomain}`,
    },
    sip: {
      username: target.username,
      domain: target.sipDomain,
      host: target.serverHost,
      transports: profileTransports(settings),
      tlsRequired: settings.tlsRequired,
      registrationExpirySeconds: settings.registrationExpirySeconds,
      keepAliveSeconds: target.keepAliveSeconds,
      digestAlgorithms: [...settings.digestAlgorithms],
    },
    media: { srtp: settings.srtp, codecs: [...settings.codecs] },
    tls: {
      caChainPem: issued.chainPem,
      certificatePem: issued.pem,
      certificate: {
        serial: issued.row.serial,
        fingerprint: issued.row.fingerprint,
        notBefore: new Date(issued.row.not_before).toISOString(),
        notAfter: new Date(issued.row.not_after).toISOString(),
      },
    },
    announcementLanguage: settings.announcementLanguage,
    license: {
      mode: settings.licenseMode,
      checkUrl: proxy ? `${server.url}/license/check` : server.licenseVendorUrl,
      licenseKey: target.licenseKey,
      signingKey: proxy ? server.licenseSigningKey : null,
    },
  };
}

/** The whole document: the stored part and the password, in the schema's field order. */
export function withPassword(stored: StoredDocument, password: string): ConfigurationDocument {
  const { username, ...sip } = stored.sip;
  return { ...stored, sip: { username, password, ...sip } };
}
