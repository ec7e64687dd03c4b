import { createPrivateKey, createPublicKey } from "node:crypto";
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

function isEd25519PublicKey(text: string): boolean {
  try {
    const trimmed = text.trim();
    if (!trimmed.startsWith("-----BEGIN")) return Buffer.from(trimmed, "base64").length === 32;
    return createPublicKey(trimmed).asymmetricKeyType === "ed25519";
  } catch {
    return false;
  }
}

function isEd25519PrivateKey(text: string): boolean {
  try {
    return createPrivateKey(text).asymmetricKeyType === "ed25519";
  } catch {
    return false;
  }
}

/** The license proxy (src/licensing, docs/license-protocol.md). */
const licenseSchema = z
  .object({
    vendorUrl: z.url({ protocol: /^https?$/ }).nullable(),
    /** The vendor's Ed25519 public key: PEM (SPKI) or the raw 32 bytes in base64. */
    vendorPublicKey: z
      .string()
      .refine(isEd25519PublicKey, "must be an Ed25519 public key: PEM, or the raw 32 bytes in base64")
      .nullable(),
    /** This server's Ed25519 private key (PEM, PKCS#8); null: generated once, kept in the database. */
    signingKey: z
      .string()
      .refine(isEd25519PrivateKey, "must be an Ed25519 private key in PEM (PKCS#8)")
      .nullable(),
    timeoutMs: z.coerce.number().int().min(50).max(60_000),
    retries: z.coerce.number().int().min(0).max(10),
    retryBackoffMs: z.coerce.number().int().min(0).max(60_000),
    ttlSeconds: seconds(30 * 86_400).pipe(z.number().min(1)),
    maxTtlSeconds: seconds(30 * 86_400).pipe(z.number().min(1)),
    refreshAheadSeconds: seconds(86_400),
    gracePeriodSeconds: seconds(90 * 86_400),
    maxClockSkewSeconds: seconds(3600).pipe(z.number().min(1)),
    breakerFailureThreshold: z.coerce.number().int().min(1).max(1000),
    breakerResetSeconds: seconds(3600).pipe(z.number().min(1)),
    accountCacheSeconds: seconds(300),
  })
  .strict()
  .refine((license) => license.vendorUrl === null || license.vendorPublicKey !== null, {
    path: ["vendorPublicKey"],
    message: "is required when license.vendorUrl is set: vendor answers cannot be verified without it",
  });

const booleanFlag = z.preprocess((value) => {
  if (typeof value !== "string") return value;
  if (/^(true|1|yes|on)$/i.test(value)) return true;
  if (/^(false|0|no|off)$/i.test(value)) return false;
  return value;
}, z.boolean());

const sipTransports = ["udp", "tcp", "tls", "ws", "wss"] as const;

/** `transport:host:port,...` (PROVISIOND_SIP_LISTEN); IPv6 hosts in brackets. */
const sipListen = z.string().transform((value, ctx) => {
  const specs: Array<{ transport: (typeof sipTransports)[number]; host: string; port: number }> = [];
  for (const item of value
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "")) {
    const match = /^(udp|tcp|tls|ws|wss):(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/i.exec(item);
    const port = Number(match?.[3]);
    if (!match || port > 65535) {
      ctx.addIssue({
        code: "custom",
        message: `"${item}" is not transport:host:port (transport udp, tcp, tls, ws or wss)`,
      });
      return z.NEVER;
    }
    specs.push({
      transport: (match[1] as string).toLowerCase() as (typeof sipTransports)[number],
      host: (match[2] as string).replace(/^\[|\]$/g, ""),
      port,
    });
  }
  return specs;
});

/** The SIP stack and registrar (src/sip). */
const sipSchema = z
  .object({
    enabled: booleanFlag,
    listen: sipListen,
    /** PEM files for TLS and WSS listeners; a TLS/WSS listener is skipped when they do not exist. */
    tlsCertFile: z.string().min(1),
    tlsKeyFile: z.string().min(1),
    /** Key for digest nonces; null: one is generated on first start and kept in the database. */
    nonceSecret: z.string().min(16).nullable(),
    nonceTtlSeconds: seconds(3600).pipe(z.number().min(10)),
    /**
     * Challenge algorithms, in order, for a realm no profile serves (a profile's realm is
     * challenged with the profile's digestAlgorithms). RFC 8760: the preferred first.
     */
    digestAlgorithms: z
      .string()
      .transform((value) => value.split(",").map((part) => part.trim().toUpperCase()))
      .pipe(
        z
          .array(z.enum(["SHA-256", "MD5"]))
          .min(1)
          .max(2),
      ),
    defaultExpiresSeconds: seconds(86_400).pipe(z.number().min(1)),
    minExpiresSeconds: seconds(86_400).pipe(z.number().min(1)),
    maxExpiresSeconds: seconds(7 * 86_400).pipe(z.number().min(1)),
    maxContactsPerAccount: z.coerce.number().int().min(1).max(100),
    maxMessageBytes: z.coerce
      .number()
      .int()
      .min(1024)
      .max(1024 * 1024),
    maxHeaders: z.coerce.number().int().min(16).max(1000),
    maxLineLength: z.coerce.number().int().min(256).max(65_536),
    connectionIdleSeconds: seconds(86_400).pipe(z.number().min(1)),
    maxConnections: z.coerce.number().int().min(1).max(1_000_000),
    t1Ms: z.coerce.number().int().min(50).max(10_000),
    t2Ms: z.coerce.number().int().min(100).max(60_000),
    t4Ms: z.coerce.number().int().min(100).max(60_000),
    authFailureLimit: z.coerce.number().int().min(1).max(100_000),
    authFailureWindowSeconds: seconds(86_400).pipe(z.number().min(1)),
    credentialCacheSeconds: seconds(3600),
    bindingFlushMs: z.coerce.number().int().min(0).max(10_000),
    purgeIntervalSeconds: seconds(3600).pipe(z.number().min(1)),
    /** SIP processes: 1 serves SIP in the main process; more fork workers (PostgreSQL only). */
    workers: z.coerce.number().int().min(1).max(64),
    /** Which node holds a binding's connection; null: the host name. */
    nodeId: z.string().min(1).nullable(),
    /** Remove a binding when its TCP/TLS/WS connection closes (Kamailio's handle_lost_tcp). */
    handleLostConnections: booleanFlag,
    /**
     * Further names of this server (DNS names phones are given): a Request-URI naming one is
     * valid for every SIP domain, like one naming a listening address or the host name.
     */
    aliases: z
      .string()
      .transform((value) =>
        value
          .split(",")
          .map((part) => part.trim().toLowerCase())
          .filter((part) => part !== ""),
      )
      .pipe(z.array(z.string().regex(/^[a-z0-9.-]+$|^\[[0-9a-f:.]+\]$/, "must be host names or addresses"))),
    /** Timer C: how long a call rings before the caller gets 408 and the contacts a CANCEL. */
    ringTimeoutSeconds: seconds(3600).pipe(z.number().min(1)),
    /** Call records are written behind the calls, in batches this far apart (0: at once). */
    cdrFlushMs: z.coerce.number().int().min(0).max(60_000),
    /** Where the default announcements are generated; null: "announcements" in database.dataDir. */
    announcementsDir: z.string().min(1).nullable(),
    /** The longest announcement an organisation may upload. */
    announcementMaxSeconds: seconds(600).pipe(z.number().min(1)),
  })
  .strict()
  .refine(
    (sip) =>
      sip.minExpiresSeconds <= sip.defaultExpiresSeconds &&
      sip.defaultExpiresSeconds <= sip.maxExpiresSeconds,
    {
      path: ["defaultExpiresSeconds"],
      message: "must lie between sip.minExpiresSeconds and sip.maxExpiresSeconds",
    },
  );

/** The certificate authority (src/pki, docs/pki.md). */
const pkiSchema = z
  .object({
    /** Where the CA (certificate, chain, encrypted key) and the server's own certificate live; null: <dataDir>/pki. */
    dir: z.string().min(1).nullable(),
    /** Encrypts the CA key; null: one is generated into <dir>/ca.passphrase on first start. */
    caPassphrase: z.string().min(12).nullable(),
    /** The key of a CA the first start (or `ca init`) creates. */
    caKeyType: z.enum(["ecdsa-p256", "rsa-3072"]),
    caSubject: z.string().min(4).max(500),
    caValidityDays: z.coerce.number().int().min(30).max(36_500),
    /** How long a CRL is valid (its nextUpdate); it is regenerated crlRefreshAheadSeconds before. */
    crlValiditySeconds: seconds(90 * 86_400).pipe(z.number().min(300)),
    crlRefreshAheadSeconds: seconds(30 * 86_400).pipe(z.number().min(60)),
    /** Written into issued certificates as their CRL distribution point; null: none. */
    crlDistributionUrl: z.url({ protocol: /^https?$/ }).nullable(),
    /** Names of the server's own TLS certificate when sip.tlsCertFile does not exist (comma-separated). */
    serverHostNames: z
      .string()
      .transform((value) =>
        value
          .split(",")
          .map((part) => part.trim().toLowerCase())
          .filter((part) => part !== ""),
      )
      .pipe(z.array(z.string().regex(/^[a-z0-9.:-]+$/, "must be host names or IP addresses")).min(1)),
    serverCertificateDays: z.coerce.number().int().min(1).max(825),
    serverRenewBeforeSeconds: seconds(365 * 86_400),
  })
  .strict()
  .refine((pki) => pki.crlRefreshAheadSeconds < pki.crlValiditySeconds, {
    path: ["crlRefreshAheadSeconds"],
    message: "must be shorter than pki.crlValiditySeconds",
  })
  .refine((pki) => pki.serverRenewBeforeSeconds < pki.serverCertificateDays * 86_400, {
    path: ["serverRenewBeforeSeconds"],
    message: "must be shorter than pki.serverCertificateDays",
  });
/** SMS and e-mail delivery (src/messaging, src/jobs). */
const messagingSchema = z
  .object({
    /** Where links in messages point (https://provisioning.example.com); null: this server's own URL. */
    publicUrl: z.url({ protocol: /^https?$/ }).nullable(),
    activationLinkSeconds: seconds(365 * 86_400).pipe(z.number().min(60)),
    /** How often each process looks for due messages the queue may have lost (crash, Redis outage). */
    sweepMs: z.coerce.number().int().min(10).max(600_000),
    /** How long a message being handed to a gateway is held before another worker may retry it. */
    leaseSeconds: seconds(3600).pipe(z.number().min(1)),
    maxAttempts: z.coerce.number().int().min(1).max(100),
    retryBaseMs: z.coerce.number().int().min(1).max(3_600_000),
    retryMaxMs: z.coerce.number().int().min(1).max(86_400_000),
    concurrency: z.coerce.number().int().min(1).max(256),
    /** BullMQ key prefix: installations (or tests) sharing one Redis keep apart by it. */
    queuePrefix: z.string().regex(/^[A-Za-z0-9_.:-]{1,100}$/, "letters, digits and _ . : - only"),
    sms: z
      .object({
        gateway: z.enum(["log", "http", "smpp"]),
        /** Messages longer than this many segments are refused before they are queued. */
        maxSegments: z.coerce.number().int().min(1).max(255),
        /** E.164 prefixes the gateway reaches ("+41,+33"); empty: every number. */
        reachablePrefixes: z
          .string()
          .transform((value) =>
            value
              .split(",")
              .map((part) => part.trim())
              .filter((part) => part !== ""),
          )
          .pipe(z.array(z.string().regex(/^\+\d{1,15}$/, "must be + and digits"))),
        ratePerSecond: z.coerce.number().min(0.01).max(100_000),
        timeoutMs: z.coerce.number().int().min(50).max(120_000),
        http: z
          .object({
            preset: z.enum(["generic", "twilio"]),
            url: z.url({ protocol: /^https?$/ }).nullable(),
            method: z.enum(["POST", "PUT"]),
            username: z.string().nullable(),
            password: z.string().nullable(),
            bearerToken: z.string().nullable(),
            from: z.string().nullable(),
            /** JSON body with {to} {text} {from} {idempotencyKey} {callbackUrl}; null: the preset's body. */
            bodyTemplate: z.string().nullable(),
            /** Field of the gateway's JSON answer holding its message id. */
            messageIdField: z.string().min(1),
            /** Secret in the status callback URL; null: status callbacks are refused. */
            callbackSecret: z.string().min(16).nullable(),
          })
          .strict(),
        smpp: z
          .object({
            url: z
              .string()
              .refine((value) => /^smpps?:\/\//.test(value), "must be an smpp:// or smpps:// URL")
              .nullable(),
            systemId: z.string(),
            password: z.string(),
            sourceAddr: z.string(),
            enquireLinkSeconds: seconds(3600).pipe(z.number().min(1)),
            reconnectMaxMs: z.coerce.number().int().min(10).max(600_000),
          })
          .strict(),
      })
      .strict()
      .refine((sms) => sms.gateway !== "http" || sms.http.url !== null, {
        path: ["http", "url"],
        message: "is required when messaging.sms.gateway is http",
      })
      .refine((sms) => sms.gateway !== "smpp" || sms.smpp.url !== null, {
        path: ["smpp", "url"],
        message: "is required when messaging.sms.gateway is smpp",
      }),
    email: z
      .object({
        transport: z.enum(["log", "smtp"]),
        smtpUrl: z
          .string()
          .refine((value) => /^smtps?:\/\//.test(value), "must be an smtp:// or smtps:// URL")
          .nullable(),
        from: z.string().min(3),
        ratePerSecond: z.coerce.number().min(0.01).max(100_000),
      })
      .strict()
      .refine((email) => email.transport !== "smtp" || email.smtpUrl !== null, {
        path: ["smtpUrl"],
        message: "is required when messaging.email.transport is smtp",
      }),
  })
  .strict();

/** PGSM automatic activation (src/provisioning, docs/provisioning.md). */
const provisioningSchema = z
  .object({
    /** A repeated POST /a/{token} with the same CSR gets the same document this long after the activation. */
    replayWindowSeconds: seconds(3600),
    /** Failed attempts on one activation link before it is blocked for the rest of the window. */
    tokenFailureLimit: z.coerce.number().int().min(1).max(10_000),
    /** Failed activation attempts from one address (any link, unknown ones too) before it is blocked. */
    addressFailureLimit: z.coerce.number().int().min(1).max(1_000_000),
    failureWindowSeconds: seconds(86_400).pipe(z.number().min(1)),
  })
  .strict();

/** SNOM desk phones' settings files (src/provisioning/snom). */
const snomSchema = z
  .object({
    /**
     * The HTTP digest realm of the settings URLs. Credentials are stored as HA1s under it, so
     * changing it invalidates every credential until it is rotated.
     */
    realm: z
      .string()
      .min(1)
      .max(100)
      .regex(/^[\x20-\x7e]+$/, "printable ASCII only")
      .refine((value) => !/["\\]/.test(value), "no quote or backslash"),
    /** How long the credential a rotation replaced still opens the settings file. */
    credentialGraceSeconds: seconds(365 * 86_400),
    /** Wrong credentials per digest username in a window; an address gets ten times as many. */
    authFailureLimit: z.coerce.number().int().min(1).max(100_000),
    authFailureWindowSeconds: seconds(86_400).pipe(z.number().min(1)),
  })
  .strict();
/** Signing in to the console (src/tenancy/sessions.ts, passwords.ts). */
const signInSchema = z
  .object({
    passwordMinLength: z.coerce.number().int().min(8).max(128),
    /** scrypt (RFC 7914) for new hashes; stored hashes keep theirs and are re-hashed on sign-in. */
    scrypt: z
      .object({
        /** log2 of N, the CPU and memory cost: memory is 128 * N * blockSize bytes. */
        cost: z.coerce.number().int().min(10).max(22),
        blockSize: z.coerce.number().int().min(1).max(32),
        parallelism: z.coerce.number().int().min(1).max(16),
        keyLength: z.coerce.number().int().min(16).max(128),
      })
      .strict(),
    sessionIdleSeconds: seconds(30 * 86_400).pipe(z.number().min(60)),
    sessionAbsoluteSeconds: seconds(365 * 86_400).pipe(z.number().min(60)),
    /** lastSeenAt is written at most this often per session (and the idle end moves with it). */
    sessionTouchSeconds: seconds(3600),
    /** auto: Secure when the request came over TLS or messaging.publicUrl is https. */
    secureCookie: z.enum(["auto", "always", "never"]),
    accountFailureLimit: z.coerce.number().int().min(1).max(100_000),
    addressFailureLimit: z.coerce.number().int().min(1).max(100_000),
    failureWindowSeconds: seconds(86_400).pipe(z.number().min(1)),
    invitationSeconds: seconds(365 * 86_400).pipe(z.number().min(60)),
    resetSeconds: seconds(30 * 86_400).pipe(z.number().min(60)),
  })
  .strict()
  .refine((signIn) => signIn.sessionIdleSeconds <= signIn.sessionAbsoluteSeconds, {
    path: ["sessionIdleSeconds"],
    message: "must not be longer than signIn.sessionAbsoluteSeconds",
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
        authFailureWindowSeconds: seconds(86_400).pipe(z.number().min(1)),
      })
      .strict(),
    database: z
      .object({
        url: postgresUrl.nullable(),
        dataDir: z.string().min(1),
        poolMax: z.coerce.number().int().min(1).max(1000),
        /** PGlite's shared_buffers: its WebAssembly memory never shrinks, so this is most of idle RSS. */
        pgliteSharedBuffersMiB: z.coerce.number().int().min(1).max(4096),
      })
      .strict(),
    redis: z.object({ url: redisUrl.nullable() }).strict(),
    log: z.object({ level: z.enum(logLevels) }).strict(),
    shutdown: z.object({ graceMs: z.coerce.number().int().min(0).max(600_000) }).strict(),
    license: licenseSchema,
    sip: sipSchema,
    pki: pkiSchema,
    messaging: messagingSchema,
    provisioning: provisioningSchema,
    snom: snomSchema,
    signIn: signInSchema,
    console: z
      .object({
        /** The built console (index.html and assets/); null: dist/console in the package root. */
        dir: z.string().min(1).nullable(),
      })
      .strict(),
    /** Billing plans, requests and the renewal schedule (src/subscriptions). */
    subscriptions: z
      .object({
        /** How often the schedule ends, renews and reminds; it compares dates, so any interval under a day works. */
        scheduleIntervalMs: z.coerce.number().int().min(50).max(86_400_000),
      })
      .strict(),
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
  PROVISIOND_PGLITE_SHARED_BUFFERS_MIB: "database.pgliteSharedBuffersMiB",
  PROVISIOND_HTTP_HOST: "http.host",
  PROVISIOND_HTTP_PORT: "http.port",
  PROVISIOND_HTTP_BODY_LIMIT_BYTES: "http.bodyLimitBytes",
  PROVISIOND_HTTP_IMPORT_LIMIT_BYTES: "http.importLimitBytes",
  PROVISIOND_HTTP_REQUEST_TIMEOUT_MS: "http.requestTimeoutMs",
  PROVISIOND_AUTH_FAILURE_LIMIT: "http.authFailureLimit",
  PROVISIOND_AUTH_FAILURE_WINDOW_SECONDS: "http.authFailureWindowSeconds",
  PROVISIOND_LOG_LEVEL: "log.level",
  PROVISIOND_SHUTDOWN_GRACE_MS: "shutdown.graceMs",
  PROVISIOND_LICENSE_VENDOR_URL: "license.vendorUrl",
  PROVISIOND_LICENSE_VENDOR_PUBLIC_KEY: "license.vendorPublicKey",
  PROVISIOND_LICENSE_SIGNING_KEY: "license.signingKey",
  PROVISIOND_LICENSE_TIMEOUT_MS: "license.timeoutMs",
  PROVISIOND_LICENSE_GRACE_PERIOD_SECONDS: "license.gracePeriodSeconds",
  PROVISIOND_CREDENTIAL_KEY: "secrets.credentialKey",
  PROVISIOND_SIP_ENABLED: "sip.enabled",
  PROVISIOND_SIP_LISTEN: "sip.listen",
  PROVISIOND_SIP_TLS_CERT_FILE: "sip.tlsCertFile",
  PROVISIOND_SIP_TLS_KEY_FILE: "sip.tlsKeyFile",
  PROVISIOND_SIP_NONCE_SECRET: "sip.nonceSecret",
  PROVISIOND_SIP_DIGEST_ALGORITHMS: "sip.digestAlgorithms",
  PROVISIOND_SIP_NODE_ID: "sip.nodeId",
  PROVISIOND_SIP_HANDLE_LOST_CONNECTIONS: "sip.handleLostConnections",
  PROVISIOND_SIP_ALIASES: "sip.aliases",
  PROVISIOND_SIP_WORKERS: "sip.workers",
  PROVISIOND_PKI_DIR: "pki.dir",
  PROVISIOND_CA_PASSPHRASE: "pki.caPassphrase",
  PROVISIOND_PKI_SERVER_HOST_NAMES: "pki.serverHostNames",
  PROVISIOND_PKI_CRL_DISTRIBUTION_URL: "pki.crlDistributionUrl",
  PROVISIOND_PUBLIC_URL: "messaging.publicUrl",
  PROVISIOND_SNOM_REALM: "snom.realm",
  PROVISIOND_SNOM_CREDENTIAL_GRACE_SECONDS: "snom.credentialGraceSeconds",
  PROVISIOND_SMS_GATEWAY: "messaging.sms.gateway",
  PROVISIOND_SMS_HTTP_URL: "messaging.sms.http.url",
  PROVISIOND_SMS_HTTP_PASSWORD: "messaging.sms.http.password",
  PROVISIOND_SMS_HTTP_BEARER_TOKEN: "messaging.sms.http.bearerToken",
  PROVISIOND_SMS_CALLBACK_SECRET: "messaging.sms.http.callbackSecret",
  PROVISIOND_SMPP_URL: "messaging.sms.smpp.url",
  PROVISIOND_SMPP_PASSWORD: "messaging.sms.smpp.password",
  PROVISIOND_EMAIL_TRANSPORT: "messaging.email.transport",
  PROVISIOND_SMTP_URL: "messaging.email.smtpUrl",
  PROVISIOND_PASSWORD_MIN_LENGTH: "signIn.passwordMinLength",
  PROVISIOND_SESSION_IDLE_SECONDS: "signIn.sessionIdleSeconds",
  PROVISIOND_SESSION_ABSOLUTE_SECONDS: "signIn.sessionAbsoluteSeconds",
  PROVISIOND_SECURE_COOKIE: "signIn.secureCookie",
  PROVISIOND_CONSOLE_DIR: "console.dir",
};
