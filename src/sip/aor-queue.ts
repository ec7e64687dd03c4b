/**
 * Work on one address-of-record, one piece at a time and in arrival order (RFC 3261 section
 * 10.3: a registrar processes the REGISTERs of one AOR in the order received, each as a whole).
 * REGISTERs pipelined on one connection, or arriving together over UDP, would otherwise read the
 * same bindings, each add their own and leave the cache, the database, the 200's Contact list
 * and the binding limit disagreeing. Different AORs run side by side.
 */
export class AorQueue {
  private readonly tails = new Map<string, Promise<void>>();

  run(aor: string, work: () => Promise<void>): Promise<void> {
    const before = this.tails.get(aor);
    const mine = before ? before.then(work, work) : work();
    const tail = mine.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(aor, tail);
    void tail.then(() => {
      if (this.tails.get(aor) === tail) this.tails.delete(aor);
    });
    return mine;
  }
}
