/** How values look in tables: times in the browser's locale, absent values as a dash. */
export function formatTime(value: unknown): string {
  if (typeof value !== "string" || !value) return "–";
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.toLocaleString();
}

const timeKey = /(At|On|Before|After)$|^(notBefore|notAfter|expires|checked)/;

/** A field of a section the console does not know: strings, numbers, times, nested values as JSON. */
export function formatValue(key: string, value: unknown): string {
  if (value === null || value === undefined || value === "") return "–";
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "string" && timeKey.test(key)) return formatTime(value);
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** camelCase field names as words: "lastCheckedAt" -> "Last checked at". */
export function labelOf(key: string): string {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/[_-]+/g, " ")
    .toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
