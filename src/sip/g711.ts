/** G.711 (ITU-T) encoders from 16-bit linear PCM: mu-law (PCMU, payload 0) and A-law (PCMA, payload 8). */

const bias = 0x84;
const clip = 32635;

export function linearToMulaw(sample: number): number {
  const sign = sample < 0 ? 0x80 : 0;
  let magnitude = Math.min(Math.abs(sample), clip) + bias;
  let exponent = 7;
  for (let mask = 0x4000; (magnitude & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (magnitude >> (exponent + 3)) & 0x0f;
  magnitude = ~(sign | (exponent << 4) | mantissa);
  return magnitude & 0xff;
}

export function linearToAlaw(sample: number): number {
  const sign = sample >= 0 ? 0x80 : 0;
  let magnitude = Math.min(sample < 0 ? -sample - 1 : sample, 32767) >> 3;
  let exponent = 0;
  if (magnitude >= 0x20) {
    exponent = 1;
    while (magnitude >= 0x40 && exponent < 7) {
      magnitude >>= 1;
      exponent++;
    }
  }
  const mantissa = exponent === 0 ? magnitude >> 1 : (magnitude >> 1) & 0x0f;
  return ((sign | (exponent << 4) | mantissa) ^ 0x55) & 0xff;
}

export function mulawToLinear(byte: number): number {
  const value = ~byte & 0xff;
  const sign = value & 0x80;
  const exponent = (value >> 4) & 0x07;
  const mantissa = value & 0x0f;
  const magnitude = (((mantissa << 3) + bias) << exponent) - bias;
  return sign ? -magnitude : magnitude;
}

/** Encodes a whole announcement once, so each call only slices packets out of it. */
export function encodeG711(samples: Int16Array, codec: "PCMU" | "PCMA"): Buffer {
  const out = Buffer.allocUnsafe(samples.length);
  const encode = codec === "PCMU" ? linearToMulaw : linearToAlaw;
  for (let i = 0; i < samples.length; i++) out[i] = encode(samples[i] as number);
  return out;
}
