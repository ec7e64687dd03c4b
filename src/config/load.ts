import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { projectWords } from "../field-messages.js";
import { packageRoot } from "../package-info.js";
import { type Config, configSchema, environmentKeys } from "./schema.js";

type JsonObject = { [key: string]: unknown };

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  /** Folder holding default.json and <NODE_ENV>.json; defaults to the package's config/. */
  configDir?: string;
  /** Values applied last, used by tests and the CLI. */
  overrides?: JsonObject;
}

function readJsonFile(path: string, problems: string[]): JsonObject {
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, "utf8"));
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return parsed as JsonObject;
    problems.push(`${path}: must hold a JSON object`);
  } catch (error) {
    problems.push(`${path}: ${(error as Error).message}`);
  }
  return {};
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function merge(target: JsonObject, source: JsonObject): JsonObject {
  for (const [key, value] of Object.entries(source)) {
    const current = target[key];
    target[key] = isObject(current) && isObject(value) ? merge({ ...current }, value) : value;
  }
  return target;
}

function setPath(target: JsonObject, path: string, value: unknown): void {
  const keys = path.split(".");
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (!isObject(next)) node[key] = {};
    node = node[key] as JsonObject;
  }
  node[keys[keys.length - 1] as string] = value;
}

/**
 * config/default.json, then config/<NODE_ENV>.json, then environment variables, then overrides;
 * the result is validated once. Problems name the key and where its value came from.
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const configDir = options.configDir ?? env.PROVISIOND_CONFIG_DIR ?? join(packageRoot, "config");
  const problems: string[] = [];
  const origin = new Map<string, string>();

  const defaultsPath = join(configDir, "default.json");
  const raw = existsSync(defaultsPath) ? readJsonFile(defaultsPath, problems) : {};
  if (!existsSync(defaultsPath)) problems.push(`${defaultsPath}: not found`);

  const environment = env.NODE_ENV;
  if (environment) {
    if (!/^[a-z0-9_-]+$/i.test(environment)) {
      problems.push(`NODE_ENV: "${environment}" is not a valid environment name`);
    } else {
      const envPath = join(configDir, `${environment}.json`);
      if (existsSync(envPath)) {
        merge(raw, readJsonFile(envPath, problems));
        origin.set("*", envPath);
      }
    }
  }

  for (const [variable, key] of Object.entries(environmentKeys)) {
    const value = env[variable];
    if (value === undefined || value === "") continue;
    setPath(raw, key, value);
    origin.set(key, variable);
  }
  if (options.overrides) merge(raw, options.overrides);

  if (problems.length > 0) throw new ConfigError(problems);

  const result = configSchema.safeParse(raw, { error: projectWords });
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => {
        const key = issue.path.join(".") || "(root)";
        const from = origin.get(key);
        const unknownKeys =
          issue.code === "unrecognized_keys" ? ` (${issue.keys.map((k) => `${key}.${k}`).join(", ")})` : "";
        return `${key}${from ? ` (from ${from})` : ""}: ${issue.message}${unknownKeys}`;
      }),
    );
  }
  return result.data;
}
