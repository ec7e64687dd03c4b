import { type ChangeEvent, type FormEvent, useState } from "react";
import { Link } from "react-router";
import { ApiError, api } from "../api";
import { Field } from "../components/field";
import { PageTitle } from "../components/page-title";
import { previewCsv } from "../csv-preview";
import { t } from "../strings";

interface ImportResult {
  created: number;
  accounts: { id: string; username: string; sipDomain: string; password: string }[];
}

/** CSV import: the file's rows in a table, each with the server's errors for its line. */
export function ImportPage() {
  const [csv, setCsv] = useState<string>("");
  const [error, setError] = useState<unknown>(null);
  const [result, setResult] = useState<ImportResult | null>(null);
  const [busy, setBusy] = useState(false);

  async function choose(event: ChangeEvent<HTMLInputElement>) {
    const file = event.target.files?.[0];
    setError(null);
    setResult(null);
    setCsv(file ? await file.text() : "");
  }

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setResult(await api.post<ImportResult>("/api/v1/accounts/import", csv, { contentType: "text/csv" }));
    } catch (reason) {
      setError(reason);
    } finally {
      setBusy(false);
    }
  }

  const rows = csv ? previewCsv(csv) : [];
  const header = rows[0];
  const fieldErrors = error instanceof ApiError ? (error.problem.errors ?? []) : [];
  const errorsOfLine = new Map<number, string[]>();
  const fileErrors: string[] = [];
  for (const item of fieldErrors) {
    const match = /^rows\[(\d+)\]\.?(.*)$/.exec(item.path);
    if (match) {
      const line = Number(match[1]);
      errorsOfLine.set(line, [
        ...(errorsOfLine.get(line) ?? []),
        match[2] ? `${match[2]}: ${item.message}` : item.message,
      ]);
    } else fileErrors.push(`${item.path}: ${item.message}`);
  }

  return (
    <>
      <PageTitle>{t.importPage.title}</PageTitle>
      <p className="hint">{t.importPage.hint}</p>
      <form onSubmit={submit} aria-label={t.importPage.title}>
        <Field label={t.importPage.file}>
          {(control) => (
            <input {...control} name="file" type="file" accept=".csv,text/csv" onChange={choose} required />
          )}
        </Field>
        <button type="submit" disabled={busy || !csv}>
          {t.importPage.submit}
        </button>
      </form>
      {error ? (
        <div role="alert" className="problem">
          <strong>{t.importPage.fileErrors}</strong>
          <p>{error instanceof ApiError ? error.problem.detail : String(error)}</p>
          {fileErrors.length > 0 ? (
            <ul>
              {fileErrors.map((message) => (
                <li key={message}>{message}</li>
              ))}
            </ul>
          ) : null}
        </div>
      ) : null}
      {result ? (
        <div role="status">
          <p>{t.importPage.created(result.created)}</p>
          <table>
            <caption className="visually-hidden">{t.importPage.created(result.created)}</caption>
            <thead>
              <tr>
                <th scope="col">{t.accounts.username}</th>
                <th scope="col">{t.account.sipDomain}</th>
                <th scope="col">{t.form.password}</th>
              </tr>
            </thead>
            <tbody>
              {result.accounts.map((account) => (
                <tr key={account.id}>
                  <td>
                    <Link to={`/accounts/${account.id}`}>{account.username}</Link>
                  </td>
                  <td>{account.sipDomain}</td>
                  <td>
                    <code>{account.password}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {header && !result ? (
        <table className="import-rows">
          <caption className="visually-hidden">{t.importPage.file}</caption>
          <thead>
            <tr>
              <th scope="col">{t.importPage.line}</th>
              {header.fields.map((name, index) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: a header may name a column twice (the server says so)
                <th scope="col" key={index}>
                  {name}
                </th>
              ))}
              <th scope="col">{t.importPage.rowErrors}</th>
            </tr>
          </thead>
          <tbody>
            {rows.slice(1).map((row) => {
              const errors = errorsOfLine.get(row.line) ?? [];
              return (
                <tr key={row.line} className={errors.length ? "row-error" : undefined}>
                  <th scope="row">{row.line}</th>
                  {header.fields.map((_, index) => (
                    // biome-ignore lint/suspicious/noArrayIndexKey: columns are positions in the file
                    <td key={index}>{row.fields[index] ?? ""}</td>
                  ))}
                  <td>
                    {errors.length ? (
                      <ul className="row-errors">
                        {errors.map((message) => (
                          <li key={message}>{message}</li>
                        ))}
                      </ul>
                    ) : null}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
    </>
  );
}
