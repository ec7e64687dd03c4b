import { isDeepStrictEqual } from "node:util";

/**
 * The columns of `changes` whose value differs from the row's. A PATCH that sends what is already
 * there changes nothing: no write, no `updated_at`, no audit event.
 */
export function changedColumns<R extends object>(row: R, changes: Partial<R>): Partial<R> {
  const current = row as Record<string, unknown>;
  return Object.fromEntries(
    Object.entries(changes).filter(
      ([column, value]) => value !== undefined && !isDeepStrictEqual(value, current[column]),
    ),
  ) as Partial<R>;
}

export const isEmptyChange = (changes: object): boolean => Object.keys(changes).length === 0;
