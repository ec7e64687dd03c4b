// tsyringe, under @peculiar/x509, needs the Reflect metadata API at import time.
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

// Node's own WebCrypto does the signing and verifying: no JavaScript crypto in between.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };
