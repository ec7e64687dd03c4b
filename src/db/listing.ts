import type { Knex } from "knex";
import type { Sort } from "../http/list.js";

export interface Listing {
  /** Case-insensitive substring search over these columns. */
  q?: string | undefined;
  searchColumns: readonly string[];
  sort: Sort;
  /** API field name -> SQL column. */
  sortColumns: Readonly<Record<string, string>>;
  /** Unique column appended to every order, so pages never overlap. */
  tieBreaker: string;
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
  return query
    .orderBy(column, listing.sort.descending ? "desc" : "asc")
    .orderBy(listing.tieBreaker, listing.sort.descending ? "desc" : "asc");
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

/** Every row of a query in batches, for exports that must not hold the whole list in memory. */
export async function* fetchAll<T>(query: Knex.QueryBuilder, batchSize = 1000): AsyncGenerator<T> {
  for (let offset = 0; ; offset += batchSize) {
    const rows = (await query.clone().offset(offset).limit(batchSize)) as T[];
    yield* rows;
    if (rows.length < batchSize) return;
  }
}
