import { parse } from "csv-parse/sync";
import { type FieldError, ValidationError } from "../errors.js";
import type { AccountDraft } from "./create-accounts.js";
import { createAccountBody, importColumns } from "./schemas.js";

const rowSchema = createAccountBody.omit({ mode: true });
export const maxImportRows = 50_000;

/**
 * Reads an import file: a header row naming columns, then one account per line. Every row is
 * checked; any problem answers 400 listing each bad row and field as `rows[N].field`, where N
 * is the line of the file (the header is line 1), so nothing is created from a file with errors.
 */
export function parseAccountCsv(text: string): AccountDraft[] {
  let records: string[][];
  try {
    records = parse(text, { bom: true, skip_empty_lines: true, relax_column_count: false, trim: true });
  } catch (error) {
    throw new ValidationError([{ path: "body", message: `not valid CSV: ${(error as Error).message}` }]);
  }
  const [header, ...rows] = records;
  if (!header)
    throw new ValidationError([{ path: "body", message: "the file is empty: it needs a header row" }]);
  const errors: FieldError[] = [];
  header.forEach((column, index) => {
    if (!(importColumns as readonly string[]).includes(column)) {
      errors.push({
        path: `header[${index + 1}]`,
        message: `unknown column "${column}"; columns: ${importColumns.join(", ")}`,
      });
    } else if (header.indexOf(column) !== index) {
      errors.push({ path: `header[${index + 1}]`, message: `column "${column}" appears twice` });
    }
  });
  for (const required of ["groupId", "type"]) {
    if (!header.includes(required))
      errors.push({ path: "header", message: `column "${required}" is required` });
  }
  if (rows.length === 0) errors.push({ path: "body", message: "the file has no account rows" });
  if (rows.length > maxImportRows)
    errors.push({ path: "body", message: `at most ${maxImportRows} rows per import` });
  if (errors.length > 0) throw new ValidationError(errors);

  const drafts: AccountDraft[] = [];
  rows.forEach((cells, index) => {
    const path = `rows[${index + 2}]`;
    const record: Record<string, unknown> = {};
    header.forEach((column, i) => {
      const cell = cells[i];
      if (cell === undefined || cell === "") return;
      record[column] = column === "keepAliveSeconds" && /^\d+$/.test(cell) ? Number(cell) : cell;
    });
    const parsed = rowSchema.safeParse(record);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        errors.push({ path: [path, ...issue.path.map(String)].join("."), message: issue.message });
      }
      return;
    }
    drafts.push({ path, input: { ...parsed.data, mode: "manual" } });
  });
  if (errors.length > 0) throw new ValidationError(errors);
  return drafts;
}
