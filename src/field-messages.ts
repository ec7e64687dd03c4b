import type { z } from "zod";
import type { FieldError } from "./errors.js";

type RawIssue = Parameters<z.core.$ZodErrorMap>[0];

const kinds: Record<string, string> = {
  string: "text",
  number: "a number",
  int: "a whole number",
  bigint: "a whole number",
  boolean: "true or false",
  object: "an object",
  array: "a list",
  date: "a date",
  null: "null",
};

const formats: Record<string, string> = {
  uuid: "a UUID",
  guid: "a UUID",
  email: "an e-mail address",
  url: "a URL",
  datetime: "a date and time in ISO 8601 form, e.g. 2026-01-31T12:00:00Z",
  date: "a date in ISO 8601 form, e.g. 2026-01-31",
  ipv4: "an IPv4 address",
  ipv6: "an IPv6 address",
};

const quoted = (value: unknown) => (typeof value === "string" ? `"${value}"` : String(value));

function sizeWords(origin: string | undefined, bound: number | bigint, unit: "at least" | "at most") {
  const n = Number(bound);
  if (origin === "string") {
    if (unit === "at least" && n === 1) return "must not be empty";
    return `must be ${unit} ${n} character${n === 1 ? "" : "s"}`;
  }
  if (origin === "array" || origin === "set") {
    if (unit === "at least" && n === 1) return "must not be an empty list";
    return `must have ${unit} ${n} item${n === 1 ? "" : "s"}`;
  }
  return `must be ${unit} ${n}`;
}

/**
 * The project's words for what a validation library would say in its own: "is required",
 * "must be a number". Messages a schema names itself ("must be 3 to 20 digits") take precedence;
 * this only replaces the library's defaults. Pass it as the `error` of every safeParse at the edge.
 */
export const projectWords: z.core.$ZodErrorMap = (issue: RawIssue) => {
  switch (issue.code) {
    case "invalid_type": {
      if (issue.input === undefined) return "is required";
      if (issue.input === null) return "must not be null";
      return `must be ${kinds[issue.expected] ?? issue.expected}`;
    }
    case "too_small": {
      if (issue.origin === "number" || issue.origin === "bigint") {
        return issue.inclusive === false
          ? `must be more than ${Number(issue.minimum)}`
          : `must be at least ${Number(issue.minimum)}`;
      }
      return sizeWords(issue.origin, issue.minimum, "at least");
    }
    case "too_big": {
      if (issue.origin === "number" || issue.origin === "bigint") {
        return issue.inclusive === false
          ? `must be less than ${Number(issue.maximum)}`
          : `must be at most ${Number(issue.maximum)}`;
      }
      return sizeWords(issue.origin, issue.maximum, "at most");
    }
    case "invalid_format": {
      if (issue.format === "starts_with" && "prefix" in issue) return `must start with "${issue.prefix}"`;
      if (issue.format === "ends_with" && "suffix" in issue) return `must end with "${issue.suffix}"`;
      const format = formats[issue.format];
      return format ? `must be ${format}` : "is not in the expected form";
    }
    case "invalid_value":
      return issue.values.length === 1
        ? `must be ${quoted(issue.values[0])}`
        : `must be one of ${issue.values.map(String).join(", ")}`;
    case "unrecognized_keys":
      return `unknown field${issue.keys.length === 1 ? "" : "s"}: ${issue.keys.join(", ")}`;
    case "not_multiple_of":
      return `must be a multiple of ${Number(issue.divisor)}`;
    default:
      return "is not valid";
  }
};

/** Issues of a failed parse as field errors under a prefix (body, query, rows[3]). */
export function fieldErrorsOf(issues: readonly z.core.$ZodIssue[], prefix: string): FieldError[] {
  return issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].filter(Boolean).join("."),
    message: issue.message,
  }));
}
