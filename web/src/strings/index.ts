import { en, type Strings } from "./en";

/** The console's words; a language chooser would pick another object of the same shape here. */
export const t: Strings = en;
