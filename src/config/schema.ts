import { z } from "zod";

const logLevels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

const postgresUrl = z.string().refine((value) => /^postgres(ql)?:\/\//.test(value), {
  message: "must be a postgres:// or postgresql:// URL",
});

const redisUrl = z
  .string()
  .refine((value) => /^rediss?:\/\//.test(value), { message: "must be a redis:// or rediss:// URL" });

const port = z.coerce.number().int().min(0).max(65535);

/** The one configuration object. Every key is documented in README.md. */
export const configSchema = z
  .object({
    http: z
      .object({
        host: z.string().min(1),
        port,
        bodyLimitBytes: z.coerce
          .number()
          .int()
          .min(1024)
          .max(100 * 1024 * 1024),
        requestTimeoutMs: z.coerce.number().int().min(1000),
        authFailureLimit: z.coerce.number().int().min(1).max(100_000),
        authFailureWindowMs: z.coerce.number().int().min(1000).max(86_400_000),
      })
      .strict(),
    database: z
      .object({
        url: postgresUrl.nullable(),
        dataDir: z.string().min(1),
        poolMax: z.coerce.number().int().min(1).max(1000),
      })
      .strict(),
    redis: z.object({ url: redisUrl.nullable() }).strict(),
    log: z.object({ level: z.enum(logLevels) }).strict(),
    shutdown: z.object({ graceMs: z.coerce.number().int().min(0).max(600_000) }).strict(),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;

/**
 * Environment variables and the configuration key each one sets.
 * An empty variable counts as unset, so `DATABASE_URL=` falls back to the embedded database.
 */
export const environmentKeys: Record<string, string> = {
  DATABASE_URL: "database.url",
  REDIS_URL: "redis.url",
  PROVISIOND_DATA_DIR: "database.dataDir",
  PROVISIOND_DB_POOL_MAX: "database.poolMax",
  PROVISIOND_HTTP_HOST: "http.host",
  PROVISIOND_HTTP_PORT: "http.port",
  PROVISIOND_HTTP_BODY_LIMIT_BYTES: "http.bodyLimitBytes",
  PROVISIOND_HTTP_REQUEST_TIMEOUT_MS: "http.requestTimeoutMs",
  PROVISIOND_AUTH_FAILURE_LIMIT: "http.authFailureLimit",
  PROVISIOND_AUTH_FAILURE_WINDOW_MS: "http.authFailureWindowMs",
  PROVISIOND_LOG_LEVEL: "log.level",
  PROVISIOND_SHUTDOWN_GRACE_MS: "shutdown.graceMs",
};
