import { type ReactNode, useState } from "react";
import { api, type Page, query } from "../api";
import { t } from "../strings";
import { useLoad } from "../use-load";
import { ProblemAlert } from "./problem-alert";

export interface Column<T> {
  label: string;
  value(item: T): ReactNode;
}

/** A paged list of one API resource as a table, with Previous/Next (CDRs, audit trail, profiles). */
export function SimpleList<T extends { id: string }>(props: {
  path: string;
  caption: string;
  columns: Column<T>[];
  filter?: Record<string, string>;
}) {
  const [page, setPage] = useState(1);
  const pageSize = 50;
  const filter = props.filter ?? {};
  const list = useLoad(
    () => api.get<Page<T>>(`${props.path}${query({ ...filter, page, pageSize })}`),
    [props.path, page, JSON.stringify(filter)],
  );
  const total = list.data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / pageSize));
  return (
    <>
      <ProblemAlert error={list.error} />
      {list.loading && !list.data ? <p aria-live="polite">{t.loading}</p> : null}
      <table>
        <caption className="visually-hidden">{props.caption}</caption>
        <thead>
          <tr>
            {props.columns.map((column) => (
              <th key={column.label} scope="col">
                {column.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {(list.data?.items ?? []).map((item) => (
            <tr key={item.id}>
              {props.columns.map((column) => (
                <td key={column.label}>{column.value(item)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {list.data && list.data.items.length === 0 ? <p className="empty">{t.none}</p> : null}
      <nav aria-label={t.accounts.paging} className="paging">
        <button type="button" disabled={page <= 1} onClick={() => setPage(page - 1)}>
          {t.accounts.previous}
        </button>
        <span aria-live="polite">{t.pageOf(page, pages, total)}</span>
        <button type="button" disabled={page >= pages} onClick={() => setPage(page + 1)}>
          {t.accounts.next}
        </button>
      </nav>
    </>
  );
}
