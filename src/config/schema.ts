import { z } from "zod";

const logLevels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

const postgresUrl = z.string().refine((value) => /^postgres(ql)?:\/\//.test(value), {
  message: "must be a postgres:// or postgresql:// URL",
});

const redisUrl = z
  .string()
  .refine((value) => /^rediss?:\/\//.test(value), { message: "must be a redis:// or rediss:// URL" });

const port = z.coerce.number().int().min(0).max(65535);

const seconds = (max: number) => z.coerce.number().int().min(0).max(max);

/** The license proxy (src/licensing, docs/license-protocol.md). */
const licenseSchema = z
  .object({
    vendorUrl: z.url({ protocol: /^https?$/ }).nullable(),
    /** The vendor's Ed25519 public key: PEM (SPKI) or the raw 32 bytes in base64. */
    vendorPublicKey: z.string().min(1).nullable(),
    /** This server's Ed25519 private key (PEM, PKCS#8); null: generated once, kept in the database. */
    signingKey: z.string().min(1).nullable(),
    timeoutMs: z.coerce.number().int().min(50).max(60_000),
    retries: z.coerce.number().int().min(0).max(10),
    retryBackoffMs: z.coerce.number().int().min(0).max(60_000),
    ttlSeconds: seconds(30 * 86_400).pipe(z.number().min(1)),
    maxTtlSeconds: seconds(30 * 86_400).pipe(z.number().min(1)),
    refreshAheadSeconds: seconds(86_400),
    gracePeriodSeconds: seconds(90 * 86_400),
    maxClockSkewSeconds: seconds(3600).pipe(z.number().min(1)),
    breakerFailureThreshold: z.coerce.number().int().min(1).max(1000),
    breakerResetMs: z.coerce.number().int().min(100).max(3_600_000),
    accountCacheMs: z.coerce.number().int().min(0).max(300_000),
  })
  .strict()
  .refine((license) => license.vendorUrl === null || license.vendorPublicKey !== null, {
    path: ["vendorPublicKey"],
    message: "is required when license.vendorUrl is set: vendor answers cannot be verified without it",
  });

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
        importLimitBytes: z.coerce
          .number()
          .int()
          .min(1024)
          .max(1024 * 1024 * 1024),
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
    license: licenseSchema,
    secrets: z
      .object({
        /** AES-256-GCM key for stored SIP passwords: 64 hex digits or 32 bytes base64; null keeps one in dataDir. */
        credentialKey: z
          .string()
          .regex(/^(?:[0-9a-fA-F]{64}|[A-Za-z0-9+/_-]{43}=?)$/, "must be 32 bytes: 64 hex digits or base64")
          .nullable(),
      })
      .strict(),
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
  PROVISIOND_HTTP_IMPORT_LIMIT_BYTES: "http.importLimitBytes",
  PROVISIOND_HTTP_REQUEST_TIMEOUT_MS: "http.requestTimeoutMs",
  PROVISIOND_AUTH_FAILURE_LIMIT: "http.authFailureLimit",
  PROVISIOND_AUTH_FAILURE_WINDOW_MS: "http.authFailureWindowMs",
  PROVISIOND_LOG_LEVEL: "log.level",
  PROVISIOND_SHUTDOWN_GRACE_MS: "shutdown.graceMs",
  PROVISIOND_LICENSE_VENDOR_URL: "license.vendorUrl",
  PROVISIOND_LICENSE_VENDOR_PUBLIC_KEY: "license.vendorPublicKey",
  PROVISIOND_LICENSE_SIGNING_KEY: "license.signingKey",
  PROVISIOND_LICENSE_TIMEOUT_MS: "license.timeoutMs",
  PROVISIOND_LICENSE_GRACE_PERIOD_SECONDS: "license.gracePeriodSeconds",
  PROVISIOND_CREDENTIAL_KEY: "secrets.credentialKey",
};
