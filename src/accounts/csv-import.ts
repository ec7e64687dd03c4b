import { parse } from "csv-parse/sync";
import { z } from "zod";
import { type FieldError, ValidationError } from "../errors.js";
import { fieldErrorsOf, projectWords } from "../field-messages.js";
import { createAccountBody, importColumns, readOnlyImportColumns } from "./schemas.js";

const rowSchema = createAccountBody.omit({ mode: true }).extend({
  groupId: z.uuid().optional(),
  groupReference: z.string().trim().min(1).max(200).optional(),
});
export type ImportRowInput = z.output<typeof rowSchema>;
export const maxImportRows = 50_000;

/** A row of an import file, checked on its own; its group is resolved by the import. */
export interface ImportRow {
  /** `rows[N]`, N the line of the file (the header is line 1). */
  path: string;
  line: number;
  input: ImportRowInput;
}

/** Every row that reads, and the errors of the rows that do not: the import reports all at once. */
export interface ParsedImport {
  rows: ImportRow[];
  errors: FieldError[];
}

const known = new Set<string>([...importColumns, ...readOnlyImportColumns]);
const ignored = new Set<string>(readOnlyImportColumns);

/**
 * Spreadsheets in much of Europe write `;` between cells (the comma is their decimal mark):
 * the header row, whose names hold neither, says which the file uses.
 */
function delimiterOf(text: string): "," | ";" {
  const header = text.slice(0, text.search(/\r?\n|$/));
  const count = (char: string) => header.split(char).length - 1;
  return count(";") > count(",") ? ";" : ",";
}

/** The export guards cells a spreadsheet would run as formulas with an apostrophe (src/http/csv.ts): undo it. */
const unguarded = (cell: string) => (/^'(=|@|\t|\r|[+-](?![0-9]))/.test(cell) ? cell.slice(1) : cell);

/**
 * Reads an import file: a header row naming columns, then one account per line, `,` or `;`
 * separated. The export's read-only columns (id, status, ...) are accepted and ignored, so an
 * exported file can be edited and imported again. A file that is not account CSV at all (unknown
 * or missing columns, no rows) answers 400 at once; otherwise every row is checked and its
 * problems are returned with the rows, as `rows[N].field`.
 */
export function parseAccountCsv(text: string): ParsedImport {
  let records: string[][];
  try {
    records = parse(text, {
      bom: true,
      delimiter: delimiterOf(text.replace(/^\uFEFF/, "")),
      skip_empty_lines: true,
      relax_column_count: false,
      trim: true,
    });
  } catch (error) {
    throw new ValidationError([{ path: "body", message: `not valid CSV: ${(error as Error).message}` }]);
  }
  const [header, ...lines] = records;
  if (!header)
    throw new ValidationError([{ path: "body", message: "the file is empty: it needs a header row" }]);
  const errors: FieldError[] = [];
  header.forEach((column, index) => {
    if (!known.has(column)) {
      errors.push({
        path: `header[${index + 1}]`,
        message: `unknown column "${column}"; columns: ${importColumns.join(", ")} (and the export's ${readOnlyImportColumns.join(", ")}, which are ignored)`,
      });
    } else if (header.indexOf(column) !== index) {
      errors.push({ path: `header[${index + 1}]`, message: `column "${column}" appears twice` });
    }
  });
  if (!header.includes("groupId") && !header.includes("groupReference"))
    errors.push({ path: "header", message: 'column "groupId" is required' });
  if (!header.includes("type")) errors.push({ path: "header", message: 'column "type" is required' });
  if (lines.length === 0) errors.push({ path: "body", message: "the file has no account rows" });
  if (lines.length > maxImportRows)
    errors.push({ path: "body", message: `at most ${maxImportRows} rows per import` });
  if (errors.length > 0) throw new ValidationError(errors);

  const rows: ImportRow[] = [];
  lines.forEach((cells, index) => {
    const line = index + 2;
    const path = `rows[${line}]`;
    const record: Record<string, unknown> = {};
    header.forEach((column, i) => {
      const cell = unguarded(cells[i] ?? "");
      if (cell === "" || ignored.has(column)) return;
      record[column] = column === "keepAliveSeconds" && /^\d+$/.test(cell) ? Number(cell) : cell;
    });
    const parsed = rowSchema.safeParse(record, { error: projectWords });
    if (!parsed.success) {
      errors.push(...fieldErrorsOf(parsed.error.issues, path));
      return;
    }
    if (!parsed.data.groupId && !parsed.data.groupReference) {
      errors.push({ path: `${path}.groupId`, message: "is required (or groupReference)" });
      return;
    }
    rows.push({ path, line, input: parsed.data });
  });
  return { rows, errors };
}
