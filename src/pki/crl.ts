import { sign } from "node:crypto";
import type { CertificateAuthority } from "./certificate-authority.js";
import {
  bitString,
  enumerated,
  explicit,
  integer,
  integerFromHex,
  octetString,
  oid,
  sequence,
  sequenceOf,
  time,
  tlv,
} from "./der.js";

/** RFC 5280 section 5.3.1 reason codes, by the names the API uses. */
export const revocationReasons = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  privilegeWithdrawn: 9,
} as const;
export type RevocationReason = keyof typeof revocationReasons;
export const revocationReasonNames = Object.keys(revocationReasons) as [
  RevocationReason,
  ...RevocationReason[],
];

export interface CrlEntry {
  serial: string;
  revokedAt: Date;
  reason: RevocationReason;
}

const reasonCodeOid = oid("2.5.29.21");
const crlNumberOid = oid("2.5.29.20");
const authorityKeyIdOid = oid("2.5.29.35");

function entryDer(entry: CrlEntry): Buffer {
  const code = revocationReasons[entry.reason];
  // RFC 5280: "unspecified" is better said by leaving the reason code out.
  const extensions = code === 0 ? [] : [sequence(sequence(reasonCodeOid, octetString(enumerated(code))))];
  return sequence(integerFromHex(entry.serial), time(entry.revokedAt), ...extensions);
}

/**
 * A v2 CRL (RFC 5280 section 5) signed by the CA, as DER. Entries are encoded straight to bytes
 * (see der.ts for why not through @peculiar/x509); tests parse the result with @peculiar/x509
 * and `openssl crl`/`openssl verify -crl_check`.
 */
export function buildCrl(input: {
  ca: CertificateAuthority;
  number: bigint;
  thisUpdate: Date;
  nextUpdate: Date;
  entries: Iterable<CrlEntry>;
}): Buffer {
  const { ca } = input;
  const algorithm = sequence(
    oid(ca.algorithm.oid),
    ...(ca.algorithm.nullParameter ? [Buffer.from([0x05, 0x00])] : []),
  );
  const entries: Buffer[] = [];
  for (const entry of input.entries) entries.push(entryDer(entry));
  const extensions = explicit(
    0,
    sequence(
      sequence(authorityKeyIdOid, octetString(sequence(tlv(0x80, ca.keyId)))),
      sequence(crlNumberOid, octetString(integer(input.number))),
    ),
  );
  const tbs = sequence(
    integer(1),
    algorithm,
    ca.subjectDer,
    time(input.thisUpdate),
    time(input.nextUpdate),
    ...(entries.length > 0 ? [sequenceOf(entries)] : []),
    extensions,
  );
  const signature = sign(ca.algorithm.hash, tbs, { key: ca.privateKey, dsaEncoding: "der" });
  return sequence(tbs, algorithm, bitString(signature));
}

export function crlPem(der: Buffer): string {
  const lines = der.toString("base64").match(/.{1,64}/g) ?? [];
  return `-----BEGIN X509 CRL-----\n${lines.join("\n")}\n-----END X509 CRL-----\n`;
}
