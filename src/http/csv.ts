import { Readable } from "node:stream";
import type { Context } from "koa";

export interface CsvColumn<T> {
  header: string;
  value(row: T): string | number | boolean | Date | null | undefined;
}

/**
 * A cell as RFC 4180 wants it. Text that a spreadsheet would run as a formula (=, @, or +/-
 * not followed by a digit, so phone numbers stay as they are) gets a leading apostrophe.
 */
export function csvCell(value: string | number | boolean | Date | null | undefined): string {
  if (value === null || value === undefined) return "";
  let text = value instanceof Date ? value.toISOString() : String(value);
  if (typeof value === "string" && /^(=|@|\t|\r|[+-](?![0-9]))/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Streams rows as a CSV download: header line, then one line per row, CRLF as RFC 4180 says. */
export function sendCsv<T>(
  ctx: Context,
  filename: string,
  columns: CsvColumn<T>[],
  rows: AsyncIterable<T>,
): void {
  async function* lines() {
    yield `${columns.map((c) => csvCell(c.header)).join(",")}\r\n`;
    for await (const row of rows) yield `${columns.map((c) => csvCell(c.value(row))).join(",")}\r\n`;
  }
  ctx.status = 200;
  ctx.type = "text/csv; charset=utf-8";
  ctx.attachment(filename);
  ctx.body = Readable.from(lines());
}
