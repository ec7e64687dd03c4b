/**
 * Creates an embedded database directory and exits: run in a child process by `openDatabase`,
 * because PGlite's initdb grows its WebAssembly memory to about 700 MiB, which a process never
 * gives back; done here, the server starts with the same footprint on its first start as on
 * every later one.
 */
import { createPglite } from "./database.js";

const [dataDir, sharedBuffers] = process.argv.slice(2);
if (!dataDir) {
  process.stderr.write("usage: pglite-init <dataDir> [sharedBuffersMiB]\n");
  process.exit(2);
}
const pglite = createPglite(dataDir, sharedBuffers ? Number(sharedBuffers) : undefined);
await pglite.waitReady;
await pglite.close();
