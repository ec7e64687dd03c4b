#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from "commander";
import { systemActor } from "./audit/actor.js";
import { AuditService } from "./audit/service.js";
import { systemClock } from "./clock.js";
import { ConfigError, loadConfig } from "./config/load.js";
import type { Config } from "./config/schema.js";
import { DatabaseInUseError } from "./db/data-dir-lock.js";
import { openDatabase } from "./db/database.js";
import { migrateLatest, migrateRollback } from "./db/migrate.js";
import { AppError } from "./errors.js";
import { createLogger, type Logger } from "./logger.js";
import { startServer } from "./main.js";
import { packageVersion } from "./package-info.js";
import { type CaCommandResult, importCa, initCa } from "./pki/ca-commands.js";
import { caKeyTypes } from "./pki/key-algorithms.js";
import { Passwords } from "./tenancy/passwords.js";
import { roles } from "./tenancy/roles.js";
import { TenancyService } from "./tenancy/service.js";

/** EX_CONFIG from sysexits.h: the configuration is wrong. */
const exitConfigError = 78;

function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`provisiond: ${error.message}\n`);
      process.exit(exitConfigError);
    }
    throw error;
  }
}

function fail(logger: Logger | undefined, error: unknown, what: string): never {
  const message = error instanceof Error ? error.message : String(error);
  // Refusals the user can act on are said in words; only the unexpected gets a logged stack.
  if (logger && !(error instanceof AppError) && !(error instanceof DatabaseInUseError))
    logger.fatal({ err: error }, what);
  process.stderr.write(`provisiond: ${what}: ${message}\n`);
  process.exit(1);
}

async function serve(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config.log.level);
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer({
      config,
      logger,
      clock: systemClock,
      onInitialToken: (issued, url, passwordLink) => {
        // Printed, not logged: it must not end up in a log store, and the user must see it.
        process.stdout.write(
          [
            "",
            `provisiond: first start, so an operator (${issued.email}) and its API token were created.`,
            "This token is shown only this once; keep it somewhere safe:",
            "",
            `    ${issued.token}`,
            "",
            "Use it as a bearer token on the admin API, for example:",
            `    curl -H "Authorization: Bearer ${issued.token}" ${url}/api/v1/me`,
            "More tokens: provisiond token create --role operator",
            "",
            `To sign in to the console at ${url}/console/ as ${issued.email}, set a password`,
            "with this one-time link (it works once):",
            "",
            `    ${passwordLink}`,
            "",
            `or with the command line: provisiond user password --email ${issued.email} (reads it from standard input).`,
            "",
          ].join("\n"),
        );
      },
    });
  } catch (error) {
    fail(logger, error, "could not start");
  }

  let signals = 0;
  const stop = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      logger.warn({ signal }, "second signal: exiting at once");
      process.exit(1);
    }
    logger.info({ signal }, "signal received");
    server.close().then(
      () => process.exit(0),
      (error: unknown) => fail(logger, error, "shutdown failed"),
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

async function migrate(options: { rollback?: boolean; all?: boolean }): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config.log.level, process.stderr);
  let database: Awaited<ReturnType<typeof openDatabase>> | undefined;
  try {
    database = await openDatabase(config.database);
    const names = options.rollback
      ? await migrateRollback(database.knex, options.all ?? false)
      : await migrateLatest(database.knex);
    const verb = options.rollback ? "reverted" : "applied";
    process.stdout.write(
      names.length === 0 ? `nothing to do (${database.location})\n` : `${verb}: ${names.join(", ")}\n`,
    );
  } catch (error) {
    await database?.close();
    fail(logger, error, "migration failed");
  }
  await database.close();
}

async function createToken(options: {
  role: (typeof roles)[number];
  email?: string;
  name?: string;
  expiresInDays?: number;
}) {
  const config = loadConfigOrExit();
  const logger = createLogger(config.log.level, process.stderr);
  let database: Awaited<ReturnType<typeof openDatabase>> | undefined;
  try {
    database = await openDatabase(config.database);
    await migrateLatest(database.knex);
    const issued = await new TenancyService(database, systemClock).issueTokenFromCli({
      role: options.role,
      ...(options.email ? { email: options.email } : {}),
      ...(options.name ? { name: options.name } : {}),
      expiresAt: options.expiresInDays ? new Date(Date.now() + options.expiresInDays * 86_400_000) : null,
    });
    // The token alone on stdout, so scripts can capture it; what it is for goes to stderr.
    process.stdout.write(`${issued.token}\n`);
    process.stderr.write(
      `provisiond: token ${issued.tokenId} for ${issued.email}${issued.expiresAt ? `, expires ${issued.expiresAt.toISOString()}` : ""}\n`,
    );
  } catch (error) {
    await database?.close();
    if (error instanceof DatabaseInUseError) {
      process.stderr.write(tokenThroughTheApi(config, error, options));
      process.exit(1);
    }
    fail(logger, error, "could not create the token");
  }
  await database.close();
}

/**
 * While a server holds the embedded database, this process cannot open it: say how to get the
 * token from the running server instead (POST /api/v1/tokens), with the caller's options filled in.
 */
function tokenThroughTheApi(
  config: Config,
  error: DatabaseInUseError,
  options: { role: string; email?: string; name?: string; expiresInDays?: number },
): string {
  // A server listening on every address is reached on this machine through loopback.
  const host = ["0.0.0.0", "::", ""].includes(config.http.host) ? "127.0.0.1" : config.http.host;
  const url =
    config.http.port === 0
      ? "<the server's URL>"
      : `http://${host.includes(":") ? `[${host}]` : host}:${config.http.port}`;
  const body = JSON.stringify({
    role: options.role,
    ...(options.email ? { email: options.email } : {}),
    ...(options.name ? { name: options.name } : {}),
    ...(options.expiresInDays
      ? { expiresAt: new Date(Date.now() + options.expiresInDays * 86_400_000).toISOString() }
      : {}),
  });
  return [
    `provisiond: a server (process ${error.holderPid}) is running on the embedded database in ${error.dataDir},`,
    "and only one process can open it. Create the token through the running server's admin API",
    "instead, with an operator's token:",
    "",
    `    curl -X POST -H "Authorization: Bearer $OPERATOR_TOKEN" -H "Content-Type: application/json" \\`,
    `      -d '${body}' ${url}/api/v1/tokens`,
    "",
    "or stop the server, run this command again, and start the server.",
    "",
  ].join("\n");
}

/** One line of standard input, without its line end: how the password reaches `user password`. */
async function readLine(input: NodeJS.ReadableStream): Promise<string> {
  let text = "";
  for await (const chunk of input) {
    text += chunk.toString();
    const end = text.search(/\r?\n/);
    if (end >= 0) return text.slice(0, end);
  }
  return text;
}

async function setUserPassword(options: { email: string }): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config.log.level, process.stderr);
  if (process.stdin.isTTY) process.stderr.write(`New console password for ${options.email}: `);
  const password = await readLine(process.stdin);
  let database: Awaited<ReturnType<typeof openDatabase>> | undefined;
  try {
    database = await openDatabase(config.database);
    await migrateLatest(database.knex);
    const passwords = new Passwords(
      database,
      systemClock,
      new AuditService(database, systemClock),
      config.signIn,
    );
    await passwords.setByEmail(options.email, password, systemActor("cli"));
    process.stderr.write(
      `provisiond: password set for ${options.email}; their other console sessions have ended\n`,
    );
  } catch (error) {
    await database?.close();
    if (error instanceof DatabaseInUseError) {
      process.stderr.write(
        [
          `provisiond: a server (process ${error.holderPid}) is running on the embedded database in ${error.dataDir},`,
          "and only one process can open it. Stop the server and run this command again, or ask for a",
          "reset link through the running server: POST /api/v1/password-reset { email }.",
          "",
        ].join("\n"),
      );
      process.exit(1);
    }
    fail(logger, error, "could not set the password");
  }
  await database.close();
}

function printCa(what: string, done: CaCommandResult): void {
  // The fingerprint alone on stdout, so scripts can pin it; the rest to stderr.
  process.stdout.write(`${done.fingerprint}\n`);
  process.stderr.write(
    `provisiond: ${what} ${done.intermediate ? "intermediate" : "root"} CA "${done.subject}" in ${done.dir}, valid until ${done.notAfter.toISOString()}\n`,
  );
}

async function caInit(options: {
  keyType?: (typeof caKeyTypes)[number];
  subject?: string;
  validityDays?: number;
  parentCert?: string;
  parentKey?: string;
  force?: boolean;
}): Promise<void> {
  const config = loadConfigOrExit();
  try {
    const parentPassphrase = process.env.PROVISIOND_PARENT_KEY_PASSPHRASE;
    printCa(
      "created",
      await initCa(config, {
        ...options,
        ...(parentPassphrase ? { parentPassphrase } : {}),
        now: new Date(),
      }),
    );
  } catch (error) {
    fail(undefined, error, "could not create the CA");
  }
}

async function caImport(options: {
  cert: string;
  key: string;
  chain?: string;
  force?: boolean;
}): Promise<void> {
  const config = loadConfigOrExit();
  try {
    const keyPassphrase = process.env.PROVISIOND_IMPORT_KEY_PASSPHRASE;
    printCa("imported", await importCa(config, { ...options, ...(keyPassphrase ? { keyPassphrase } : {}) }));
  } catch (error) {
    fail(undefined, error, "could not import the CA");
  }
}

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1)
    throw new InvalidArgumentError("must be a whole number of days, 1 or more");
  return parsed;
}

const program = new Command()
  .name("provisiond")
  .description("SIP provisioning, registrar and license proxy server")
  .version(packageVersion);

program.command("serve", { isDefault: true }).description("run the server (the default)").action(serve);

program
  .command("migrate")
  .description("apply pending database migrations (or revert them with --rollback)")
  .option("--rollback", "revert the last batch of migrations")
  .option("--all", "with --rollback: revert every migration")
  .action(migrate);

program
  .command("token")
  .description("API tokens")
  .command("create")
  .description("create an API token and print it alone on stdout")
  .addOption(
    new Option("--role <role>", "role of the user the token is for").choices(roles).makeOptionMandatory(),
  )
  .option("--email <email>", "the user's e-mail (default: the first active operator)")
  .option("--name <label>", "a label to recognise the token by")
  .option("--expires-in-days <days>", "make the token expire", positiveInteger)
  .action(createToken);

program
  .command("user")
  .description("portal and console users")
  .command("password")
  .description("set a user's console password, read as one line from standard input")
  .requiredOption("--email <email>", "the user's e-mail")
  .action(setUserPassword);

const ca = program
  .command("ca")
  .description("the certificate authority (docs/pki.md); restart the server after a change");
ca.command("init")
  .description("create a root CA, or an intermediate signed by a parent; prints its SHA-256 fingerprint")
  .addOption(new Option("--key-type <type>", "the CA's key (default pki.caKeyType)").choices(caKeyTypes))
  .option("--subject <dn>", 'the CA\'s subject, e.g. "CN=Example Secure Phones CA, O=Example"')
  .option("--validity-days <days>", "how long the CA certificate is valid", positiveInteger)
  .option("--parent-cert <file>", "an intermediate: the parent CA's certificate (PEM)")
  .option(
    "--parent-key <file>",
    "an intermediate: the parent's key (PEM; passphrase in PROVISIOND_PARENT_KEY_PASSPHRASE)",
  )
  .option("--force", "replace an existing CA (rotation)")
  .action(caInit);
ca.command("import")
  .description("take an existing CA's certificate and key; the key is stored encrypted with pki.caPassphrase")
  .requiredOption("--cert <file>", "the CA certificate (PEM)")
  .requiredOption("--key <file>", "its private key (PEM; passphrase in PROVISIOND_IMPORT_KEY_PASSPHRASE)")
  .option("--chain <file>", "the CA's parents up to the root (PEM)")
  .option("--force", "replace an existing CA (rotation)")
  .action(caImport);

await program.parseAsync(process.argv);
