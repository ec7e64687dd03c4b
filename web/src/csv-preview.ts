/**
 * Splits a CSV file into its lines of fields, for showing the rows next to the server's errors
 * (`rows[N].field`, N the file's line). Quotes as RFC 4180; `,` or `;` as the header uses them,
 * as the server reads it. Only for display: the server's parse is the one that counts.
 */
export function previewCsv(text: string): { line: number; fields: string[] }[] {
  const firstLine = text.split(/\r?\n/, 1)[0] ?? "";
  const separator = firstLine.split(";").length > firstLine.split(",").length ? ";" : ",";
  const rows: { line: number; fields: string[] }[] = [];
  let fields: string[] = [];
  let field = "";
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') quoted = false;
      else {
        if (char === "\n") line++;
        field += char;
      }
    } else if (char === '"') quoted = true;
    else if (char === separator) {
      fields.push(field);
      field = "";
    } else if (char === "\n" || char === "\r") {
      if (char === "\r" && text[i + 1] === "\n") i++;
      fields.push(field);
      if (fields.some((value) => value !== "")) rows.push({ line: rowLine, fields });
      fields = [];
      field = "";
      line++;
      rowLine = line;
    } else field += char;
  }
  fields.push(field);
  if (fields.some((value) => value !== "")) rows.push({ line: rowLine, fields });
  return rows;
}
