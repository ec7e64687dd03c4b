/**
 * The few DER encodings a CRL needs (X.690). @peculiar/x509 builds a CRL through a generic ASN.1
 * schema walker that takes about 1.7 ms per entry (three minutes for 100,000 revoked keys); a CRL
 * is a flat list, so it is assembled here from pre-encoded bytes instead.
 */

function lengthBytes(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function tlv(tag: number, ...content: Buffer[]): Buffer {
  return tlvOf(tag, content);
}

/** The same from an array: a CRL's 100,000 entries are too many for a spread call's arguments. */
export function tlvOf(tag: number, content: readonly Buffer[]): Buffer {
  const body = content.length === 1 ? (content[0] as Buffer) : Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), lengthBytes(body.length), body]);
}

export const sequence = (...content: Buffer[]): Buffer => tlvOf(0x30, content);
export const sequenceOf = (content: readonly Buffer[]): Buffer => tlvOf(0x30, content);

/** A positive INTEGER from hex (a serial number), with the leading zero DER wants when the top bit is set. */
export function integerFromHex(hex: string): Buffer {
  let digits = hex.replace(/^0+(?=.)/, "");
  if (digits.length % 2) digits = `0${digits}`;
  let bytes = Buffer.from(digits, "hex");
  if ((bytes[0] as number) & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return tlv(0x02, bytes);
}

export function integer(value: number | bigint): Buffer {
  return integerFromHex(BigInt(value).toString(16));
}

/** RFC 5280 section 4.1.2.5: UTCTime through 2049, GeneralizedTime after. */
export function time(date: Date): Buffer {
  const iso = date.toISOString();
  const compact = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  const year = date.getUTCFullYear();
  if (year >= 1950 && year < 2050) return tlv(0x17, Buffer.from(compact.slice(2), "ascii"));
  return tlv(0x18, Buffer.from(compact, "ascii"));
}

export function oid(dotted: string): Buffer {
  const parts = dotted.split(".").map((part) => BigInt(part));
  const bytes: number[] = [Number((parts[0] as bigint) * 40n + (parts[1] as bigint))];
  for (const part of parts.slice(2)) {
    const chunk: number[] = [];
    let n = part;
    do {
      chunk.unshift(Number(n & 0x7fn));
      n >>= 7n;
    } while (n > 0n);
    for (let i = 0; i < chunk.length - 1; i++) chunk[i] = (chunk[i] as number) | 0x80;
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

export const octetString = (content: Buffer): Buffer => tlv(0x04, content);
export const bitString = (content: Buffer): Buffer => tlv(0x03, Buffer.from([0]), content);
export const enumerated = (value: number): Buffer => tlv(0x0a, Buffer.from([value]));
export const explicit = (tagNumber: number, content: Buffer): Buffer => tlv(0xa0 | tagNumber, content);

/** Where one TLV's content lies (definite lengths only, as DER has). */
export function readTlv(der: Buffer, offset: number): { tag: number; start: number; end: number } {
  const tag = der[offset] as number;
  let length = der[offset + 1] as number;
  let start = offset + 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + (der[start + i] as number);
    start += bytes;
  }
  return { tag, start, end: start + length };
}

/** The subjectPublicKey bits of a SubjectPublicKeyInfo (what RFC 5280's key identifier hashes). */
export function subjectPublicKeyBits(spki: Buffer): Buffer {
  const outer = readTlv(spki, 0);
  const algorithm = readTlv(spki, outer.start);
  const bits = readTlv(spki, algorithm.end);
  if (bits.tag !== 0x03) throw new Error("not a SubjectPublicKeyInfo");
  return spki.subarray(bits.start + 1, bits.end);
}
