import type { Knex } from "knex";
import type { Page, Sort } from "../http/list.js";

export interface Listing {
  /** Case-insensitive substring search over these columns. */
  q?: string | undefined;
  searchColumns: readonly string[];
  sort: Sort;
  /** API field name -> SQL column. */
  sortColumns: Readonly<Record<string, string>>;
  /** Unique column appended to every order, so pages never overlap. */
  tieBreaker: string;
  /**
   * Sort the rows the filter found instead of reading an index in list order. For selective
   * filters (a search served by its own indexes): otherwise the planner, which cannot estimate
   * prefix and full-text matches well, may walk the whole ordering index and test every row.
   */
  sortAfterFiltering?: boolean;
}

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Applies search and sort to a query of one list. */
export function applyListing(query: Knex.QueryBuilder, listing: Listing): Knex.QueryBuilder {
  if (listing.q) {
    const pattern = `%${escapeLike(listing.q)}%`;
    query.where((where) => {
      for (const column of listing.searchColumns) where.orWhereRaw("?? ilike ?", [column, pattern]);
    });
  }
  const column = listing.sortColumns[listing.sort.field];
  if (!column) throw new Error(`no sort column for ${listing.sort.field}`);
  const direction = listing.sort.descending ? "desc" : "asc";
  if (listing.sortAfterFiltering) {
    // coalesce(c, c) orders exactly as c does, but no index matches the expression.
    query.orderByRaw(`coalesce(??, ??) ${direction}`, [column, column]);
  } else {
    query.orderBy(column, direction);
  }
  return query.orderBy(listing.tieBreaker, direction);
}

/** One page of a query, with the total count of the whole filtered list. */
export async function fetchPage<T>(
  query: Knex.QueryBuilder,
  page: number,
  pageSize: number,
): Promise<{ rows: T[]; total: number }> {
  const counted = await query
    .clone()
    .clearSelect()
    .clearOrder()
    .count<{ total: string | number }[]>({ total: "*" });
  const rows = (await query
    .clone()
    .offset((page - 1) * pageSize)
    .limit(pageSize)) as T[];
  return { rows, total: Number(counted[0]?.total ?? 0) };
}

/**
 * Every row of a query, in its order, for exports that must not hold the whole list in memory.
 * The ordered ids are read first, then the rows by primary key a batch at a time: OFFSET paging
 * rescans the skipped rows at every batch (quadratic: 100,000 accounts took 8 s), and a cursor
 * would hold a transaction, and the embedded database's only connection, for the whole download.
 */
export async function* fetchAll<T extends { id: string }>(
  query: Knex.QueryBuilder,
  idColumn: string,
  batchSize = 1000,
): AsyncGenerator<T> {
  const ids = ((await query.clone().clearSelect().select({ id: idColumn })) as Array<{ id: string }>).map(
    (row) => row.id,
  );
  for (let i = 0; i < ids.length; i += batchSize) {
    const chunk = ids.slice(i, i + batchSize);
    const rows = (await query.clone().clearOrder().whereIn(idColumn, chunk)) as T[];
    const byId = new Map(rows.map((row) => [row.id, row]));
    for (const id of chunk) {
      // A row deleted since the ids were read is left out.
      const row = byId.get(id);
      if (row) yield row;
    }
  }
}

/** One page of a query as the API answers it, each row through its view. */
export async function pageOf<R, T>(
  query: Knex.QueryBuilder,
  paging: { page: number; pageSize: number },
  view: (row: R) => T,
): Promise<Page<T>> {
  const { rows, total } = await fetchPage<R>(query, paging.page, paging.pageSize);
  return { items: rows.map(view), page: paging.page, pageSize: paging.pageSize, total };
}

/** Every row of a query through its view, for exports (see fetchAll). */
export async function* allOf<R extends { id: string }, T>(
  query: Knex.QueryBuilder,
  idColumn: string,
  view: (row: R) => T,
): AsyncGenerator<T> {
  for await (const row of fetchAll<R>(query, idColumn)) yield view(row);
}
