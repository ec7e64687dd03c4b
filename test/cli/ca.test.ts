import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { listeningUrl, runCli } from "../support/cli.js";

const passphrase = "a long CA passphrase for tests";

function freshDir(): string {
  return mkdtempSync(join(tmpdir(), "provisiond-ca-cli-"));
}

describe("provisiond ca", () => {
  it("init creates a root CA with its key encrypted and every file 0600, and refuses to replace it without --force", {
    timeout: 60_000,
  }, async () => {
    const dataDir = freshDir();
    const env = { PROVISIOND_DATA_DIR: dataDir, PROVISIOND_CA_PASSPHRASE: passphrase };
    const run = runCli(["ca", "init", "--subject", "CN=Example Phones CA, O=Example"], env);
    expect(await run.exited, run.stderr()).toBe(0);
    const dir = join(dataDir, "pki");
    const certificate = new X509Certificate(readFileSync(join(dir, "ca.crt")));
    expect(run.stdout().trim()).toBe(certificate.fingerprint256);
    expect(certificate.subject).toBe("CN=Example Phones CA\nO=Example");
    expect(certificate.ca).toBe(true);
    for (const name of ["ca.crt", "ca-chain.pem", "ca.key"]) {
      expect(statSync(join(dir, name)).mode & 0o777, name).toBe(0o600);
    }
    const key = readFileSync(join(dir, "ca.key"), "utf8");
    expect(key).toContain("BEGIN ENCRYPTED PRIVATE KEY");
    const decrypted = execFileSync(
      "openssl",
      ["pkey", "-in", join(dir, "ca.key"), "-passin", `pass:${passphrase}`, "-noout", "-text"],
      {
        encoding: "utf8",
      },
    );
    expect(decrypted).toContain("prime256v1");

    const again = runCli(["ca", "init"], env);
    expect(await again.exited).toBe(1);
    expect(again.stderr()).toContain("a CA already exists");
    expect(new X509Certificate(readFileSync(join(dir, "ca.crt"))).fingerprint256).toBe(
      certificate.fingerprint256,
    );
  });

  it("init makes an RSA 3072 intermediate under a parent that openssl verifies", {
    timeout: 60_000,
  }, async () => {
    const rootDir = freshDir();
    const root = runCli(["ca", "init", "--subject", "CN=Root"], {
      PROVISIOND_DATA_DIR: rootDir,
      PROVISIOND_CA_PASSPHRASE: passphrase,
    });
    expect(await root.exited, root.stderr()).toBe(0);
    const dataDir = freshDir();
    const run = runCli(
      [
        "ca",
        "init",
        "--key-type",
        "rsa-3072",
        "--subject",
        "CN=Intermediate",
        "--parent-cert",
        join(rootDir, "pki", "ca.crt"),
        "--parent-key",
        join(rootDir, "pki", "ca.key"),
      ],
      {
        PROVISIOND_DATA_DIR: dataDir,
        PROVISIOND_CA_PASSPHRASE: passphrase,
        PROVISIOND_PARENT_KEY_PASSPHRASE: passphrase,
      },
    );
    expect(await run.exited, run.stderr()).toBe(0);
    expect(run.stderr()).toContain("intermediate CA");
    const intermediate = new X509Certificate(readFileSync(join(dataDir, "pki", "ca.crt")));
    expect(intermediate.publicKey.asymmetricKeyDetails?.modulusLength).toBe(3072);
    const verified = execFileSync(
      "openssl",
      ["verify", "-CAfile", join(rootDir, "pki", "ca.crt"), join(dataDir, "pki", "ca.crt")],
      {
        encoding: "utf8",
      },
    );
    expect(verified).toContain("OK");
    expect(
      readFileSync(join(dataDir, "pki", "ca-chain.pem"), "utf8").match(/BEGIN CERTIFICATE/g),
    ).toHaveLength(2);
  });

  it("import takes an existing CA, refuses a key that is not its own, and the server then issues from it", {
    timeout: 120_000,
  }, async () => {
    const work = freshDir();
    const make = (name: string) =>
      execFileSync(
        "openssl",
        [
          "req",
          "-x509",
          "-newkey",
          "ec",
          "-pkeyopt",
          "ec_paramgen_curve:P-256",
          "-nodes",
          "-keyout",
          join(work, `${name}.key`),
          "-out",
          join(work, `${name}.crt`),
          "-subj",
          `/CN=${name}`,
          "-days",
          "365",
          "-addext",
          "basicConstraints=critical,CA:TRUE",
          "-addext",
          "keyUsage=critical,keyCertSign,cRLSign",
        ],
        { stdio: "ignore" },
      );
    make("Imported CA");
    make("Other");
    const dataDir = freshDir();
    const env = { PROVISIOND_DATA_DIR: dataDir, PROVISIOND_CA_PASSPHRASE: passphrase };
    const mismatch = runCli(
      ["ca", "import", "--cert", join(work, "Imported CA.crt"), "--key", join(work, "Other.key")],
      env,
    );
    expect(await mismatch.exited).toBe(1);
    expect(mismatch.stderr()).toContain("does not belong to the CA certificate");

    const run = runCli(
      ["ca", "import", "--cert", join(work, "Imported CA.crt"), "--key", join(work, "Imported CA.key")],
      env,
    );
    expect(await run.exited, run.stderr()).toBe(0);
    const imported = new X509Certificate(readFileSync(join(work, "Imported CA.crt")));
    expect(run.stdout().trim()).toBe(imported.fingerprint256);
    expect(readFileSync(join(dataDir, "pki", "ca.key"), "utf8")).toContain("BEGIN ENCRYPTED PRIVATE KEY");

    const serve = runCli(["serve"], { ...env, PROVISIOND_HTTP_PORT: "0", PROVISIOND_SIP_ENABLED: "false" });
    try {
      const url = await listeningUrl(serve);
      const chain = await (await fetch(`${url}/pki/ca.pem`)).text();
      expect(new X509Certificate(chain).fingerprint256).toBe(imported.fingerprint256);
      expect(serve.stdout()).toContain("PKI: CA loaded");
    } finally {
      serve.child.kill("SIGTERM");
      await serve.exited;
    }
  });
});
