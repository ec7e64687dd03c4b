/** WAV files of announcements: RIFF/WAVE, PCM, 16-bit, mono, 8 kHz (what G.711 carries). */

export interface WavAudio {
  sampleRate: number;
  samples: Int16Array;
}

export type WavResult = { ok: true; audio: WavAudio } | { ok: false; reason: string };

export function parseWav(data: Buffer): WavResult {
  if (data.length < 12 || data.toString("ascii", 0, 4) !== "RIFF" || data.toString("ascii", 8, 12) !== "WAVE")
    return { ok: false, reason: "not a RIFF/WAVE file" };
  let offset = 12;
  let format: { code: number; channels: number; rate: number; bits: number } | null = null;
  while (offset + 8 <= data.length) {
    const id = data.toString("ascii", offset, offset + 4);
    const size = data.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === "fmt " && size >= 16 && body + 16 <= data.length) {
      format = {
        code: data.readUInt16LE(body),
        channels: data.readUInt16LE(body + 2),
        rate: data.readUInt32LE(body + 4),
        bits: data.readUInt16LE(body + 14),
      };
    } else if (id === "data") {
      if (!format) return { ok: false, reason: "data before fmt" };
      if (format.code !== 1 || format.bits !== 16) return { ok: false, reason: "must be 16-bit PCM" };
      if (format.channels !== 1) return { ok: false, reason: "must be mono" };
      if (format.rate !== 8000) return { ok: false, reason: "must be sampled at 8000 Hz" };
      // espeak-ng and sox write 0x7fffffff as the size of a streamed data chunk: take what is there.
      const end = Math.min(data.length, body + size);
      const count = Math.floor((end - body) / 2);
      const samples = new Int16Array(count);
      for (let i = 0; i < count; i++) samples[i] = data.readInt16LE(body + 2 * i);
      return { ok: true, audio: { sampleRate: format.rate, samples } };
    }
    offset = body + size + (size % 2);
  }
  return { ok: false, reason: "no data chunk" };
}

/** A 16-bit mono PCM WAV file (the generated fallback announcement, test recordings). */
export function writeWav(samples: Int16Array, sampleRate = 8000): Buffer {
  const data = Buffer.alloc(44 + samples.length * 2);
  data.write("RIFF", 0, "ascii");
  data.writeUInt32LE(36 + samples.length * 2, 4);
  data.write("WAVE", 8, "ascii");
  data.write("fmt ", 12, "ascii");
  data.writeUInt32LE(16, 16);
  data.writeUInt16LE(1, 20);
  data.writeUInt16LE(1, 22);
  data.writeUInt32LE(sampleRate, 24);
  data.writeUInt32LE(sampleRate * 2, 28);
  data.writeUInt16LE(2, 32);
  data.writeUInt16LE(16, 34);
  data.write("data", 36, "ascii");
  data.writeUInt32LE(samples.length * 2, 40);
  for (let i = 0; i < samples.length; i++) data.writeInt16LE(samples[i] as number, 44 + 2 * i);
  return data;
}
