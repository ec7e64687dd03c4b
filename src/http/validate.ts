import type { z } from "zod";
import { ValidationError } from "../errors.js";
import { fieldErrorsOf, projectWords } from "../field-messages.js";

export type RequestPart = "body" | "query" | "params";

/** Parses one part of a request with its zod schema; a failure names every bad field in the project's words. */
export function validate<S extends z.ZodType>(schema: S, value: unknown, part: RequestPart): z.output<S> {
  const result = schema.safeParse(value, { error: projectWords });
  if (result.success) return result.data;
  throw new ValidationError(fieldErrorsOf(result.error.issues, part));
}
