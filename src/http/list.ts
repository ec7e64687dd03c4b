import { z } from "zod";

/** The paging, search and sort part of every list query (API.md "Lists"). */
export function listQuery<const S extends readonly [string, ...string[]], F extends z.ZodRawShape>(options: {
  sortFields: S;
  defaultSort: string;
  filters: F;
}) {
  const sortValues = options.sortFields.flatMap((field) => [field, `-${field}`]) as [string, ...string[]];
  return z
    .object({
      page: z.coerce.number().int().min(1).max(1_000_000).default(1),
      pageSize: z.coerce.number().int().min(1).max(500).default(50),
      q: z.string().trim().min(1).max(200).optional(),
      sort: z.enum(sortValues).default(options.defaultSort),
      ...options.filters,
    })
    .strict();
}

/** The same filters without paging: what a `.csv` export takes. */
export function exportQuery<
  const S extends readonly [string, ...string[]],
  F extends z.ZodRawShape,
>(options: { sortFields: S; defaultSort: string; filters: F }) {
  return listQuery(options).omit({ page: true, pageSize: true });
}

export interface Sort {
  field: string;
  descending: boolean;
}

export function parseSort(sort: string): Sort {
  return sort.startsWith("-")
    ? { field: sort.slice(1), descending: true }
    : { field: sort, descending: false };
}

/** `true`/`false` in a query string. */
export const booleanParam = z.enum(["true", "false"]).transform((value) => value === "true");

export function pageSchema<T extends z.ZodType>(item: T, id: string) {
  return z
    .object({
      items: z.array(item),
      page: z.number().int(),
      pageSize: z.number().int(),
      total: z.number().int(),
    })
    .meta({ id });
}

export interface Page<T> {
  items: T[];
  page: number;
  pageSize: number;
  total: number;
}
