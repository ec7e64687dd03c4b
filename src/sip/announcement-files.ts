import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { announcementLanguages } from "../accounts/schemas.js";
import type { Logger } from "../logger.js";
import type { AnnouncementCase } from "./call-record.js";
import { parseWav, writeWav } from "./wav.js";

const run = promisify(execFile);

export type AnnouncementLanguage = (typeof announcementLanguages)[number];

/** What the default announcements say, per case and language. */
const texts: Record<AnnouncementCase, Record<AnnouncementLanguage, string>> = {
  "caller-disabled": {
    en: "Your account has been disabled. Please contact your administrator.",
    fr: "Votre compte a été désactivé. Veuillez contacter votre administrateur.",
    it: "Il suo account è stato disattivato. Contatti il suo amministratore.",
    es: "Su cuenta ha sido desactivada. Póngase en contacto con su administrador.",
    de: "Ihr Konto wurde deaktiviert. Bitte wenden Sie sich an Ihren Administrator.",
  },
  "callee-unavailable": {
    en: "The person you are calling is not available.",
    fr: "Votre correspondant n'est pas disponible.",
    it: "La persona chiamata non è disponibile.",
    es: "La persona a la que llama no está disponible.",
    de: "Der gewünschte Teilnehmer ist nicht erreichbar.",
  },
};

export function isAnnouncementLanguage(value: string | null | undefined): value is AnnouncementLanguage {
  return (announcementLanguages as readonly string[]).includes(value ?? "");
}

/**
 * The default announcements: 8 kHz mono 16-bit WAV files in a folder, spoken by espeak-ng and
 * resampled by sox the first time each is needed (Debian packages, installed by .ci/run), so no
 * audio is committed. Without those tools a short tone pattern stands in, and the log says so.
 */
export class AnnouncementFiles {
  private readonly loaded = new Map<string, Promise<Int16Array>>();

  constructor(
    private readonly dir: string,
    private readonly logger: Logger,
  ) {}

  pathOf(kind: AnnouncementCase, language: AnnouncementLanguage): string {
    return join(this.dir, `${kind}.${language}.wav`);
  }

  /** The samples of one announcement, generated on first use and kept in memory. */
  samples(kind: AnnouncementCase, language: AnnouncementLanguage): Promise<Int16Array> {
    const key = `${kind}.${language}`;
    let pending = this.loaded.get(key);
    if (!pending) {
      pending = this.load(kind, language);
      pending.catch(() => this.loaded.delete(key));
      this.loaded.set(key, pending);
    }
    return pending;
  }

  private async load(kind: AnnouncementCase, language: AnnouncementLanguage): Promise<Int16Array> {
    const path = this.pathOf(kind, language);
    if (!existsSync(path)) await this.generate(kind, language, path);
    const parsed = parseWav(readFileSync(path));
    if (!parsed.ok) throw new Error(`announcement ${path}: ${parsed.reason}`);
    return parsed.audio.samples;
  }

  private async generate(
    kind: AnnouncementCase,
    language: AnnouncementLanguage,
    path: string,
  ): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    const spoken = `${path}.${process.pid}.espeak.wav`;
    const partial = `${path}.${process.pid}.partial.wav`;
    try {
      await run("espeak-ng", ["-v", language, "-s", "150", "-w", spoken, texts[kind][language]]);
      await run("sox", [spoken, "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", partial]);
      renameSync(partial, path);
      this.logger.info({ path }, "SIP: announcement generated with espeak-ng and sox");
    } catch (error) {
      this.logger.warn(
        { err: error, path },
        "SIP: espeak-ng or sox failed or is missing; a tone pattern stands in for the announcement",
      );
      writeFileSync(partial, writeWav(tonePattern()));
      renameSync(partial, path);
    } finally {
      rmSync(spoken, { force: true });
      rmSync(partial, { force: true });
    }
  }
}

/** Three 400 ms beeps at 440 Hz with 200 ms gaps: audible, and obviously not speech. */
function tonePattern(): Int16Array {
  const rate = 8000;
  const samples = new Int16Array(rate * 2);
  for (let i = 0; i < samples.length; i++) {
    const inBeep = i % (rate * 0.6) < rate * 0.4 && i < rate * 1.8;
    samples[i] = inBeep ? Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate)) : 0;
  }
  return samples;
}
