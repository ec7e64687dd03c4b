import { z } from "zod";

/**
 * JSON merge patches (RFC 7396), the semantics of every PATCH whose resource has nested settings:
 * a member left out keeps its value, `null` clears it (back to its default), and a nested object
 * is itself a patch of the nested object, so sending `transports.tls` leaves the other transports
 * as they are.
 */

type AnySchema = z.ZodType;

/**
 * The schema of a patch of `schema`: every member optional and nullable, nested objects patches
 * themselves (still strict, so an unknown member is named), and no defaults: what is left out
 * must stay absent, or the merge would reset it.
 */
export function mergePatchSchema(schema: AnySchema): AnySchema {
  let inner: AnySchema = schema;
  while (inner instanceof z.ZodDefault || inner instanceof z.ZodPrefault) inner = inner.unwrap() as AnySchema;
  if (inner instanceof z.ZodObject) {
    const shape = Object.fromEntries(
      Object.entries(inner.shape as Record<string, AnySchema>).map(([key, member]) => [
        key,
        mergePatchSchema(member),
      ]),
    );
    return z.object(shape).strict().nullable().optional();
  }
  return inner.nullable().optional();
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Applies a merge patch to a document (RFC 7396 section 2): a new document, the target untouched. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return patch;
  const result: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}
