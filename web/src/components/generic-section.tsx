import { formatValue, labelOf } from "../format";
import { t } from "../strings";

const hidden = new Set(["history", "text", "idempotencyKey"]);

/**
 * A section of the account details that other capabilities contribute (device, subscription, ...):
 * a list becomes a table of its fields, an object a list of terms, so a new section shows without
 * a console change.
 */
export function GenericSection({ name, value }: { name: string; value: unknown }) {
  const id = `section-${name}`;
  return (
    <section aria-labelledby={id} className="section">
      <h2 id={id}>{t.sections[name] ?? labelOf(name)}</h2>
      <SectionBody value={value} caption={t.sections[name] ?? labelOf(name)} />
    </section>
  );
}

export function SectionBody({ value, caption }: { value: unknown; caption: string }) {
  if (value === null || value === undefined || (Array.isArray(value) && value.length === 0)) {
    return <p className="empty">{t.none}</p>;
  }
  if (Array.isArray(value)) {
    const rows = value.filter(
      (row): row is Record<string, unknown> => typeof row === "object" && row !== null,
    );
    const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))].filter((key) => !hidden.has(key));
    return (
      <table>
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            {columns.map((column) => (
              <th key={column} scope="col">
                {labelOf(column)}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row, index) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: rows of an unknown section have no known id
            <tr key={index}>
              {columns.map((column) => (
                <td key={column}>{formatValue(column, row[column])}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    );
  }
  if (typeof value === "object") {
    return (
      <dl className="fields">
        {Object.entries(value as Record<string, unknown>).map(([key, item]) => (
          <div key={key}>
            <dt>{labelOf(key)}</dt>
            <dd>{formatValue(key, item)}</dd>
          </div>
        ))}
      </dl>
    );
  }
  return <p>{formatValue(caption, value)}</p>;
}
