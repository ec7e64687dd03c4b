import type { z } from "zod";
import { ValidationError } from "../errors.js";

export type RequestPart = "body" | "query" | "params";

/** Parses one part of a request with its zod schema; a failure names every bad field. */
export function validate<S extends z.ZodType>(schema: S, value: unknown, part: RequestPart): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ValidationError(
    result.error.issues.map((issue) => {
      const path = [part, ...issue.path.map(String)].join(".");
      const unknown = issue.code === "unrecognized_keys" ? `: ${issue.keys.join(", ")}` : "";
      return { path, message: `${issue.message}${unknown}` };
    }),
  );
}
