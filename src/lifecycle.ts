import type { Logger } from "./logger.js";

/** How a started thing is stopped. */
export type Close = () => void | Promise<void>;

/**
 * The one way the composition root (and a capability that opens several things) starts and
 * stops: whatever is opened registers how it closes, closing runs newest first, and a start that
 * fails half-way closes what it had opened before rethrowing. Closing goes on past a failing
 * step (logged) so one broken resource does not leak the others; the first failure is rethrown
 * at the end.
 */
export class Lifecycle {
  private readonly steps: Array<{ name: string; close: Close }> = [];
  private closing: Promise<void> | undefined;

  constructor(private readonly logger?: Logger) {}

  /** Registers how something already opened is closed. */
  defer(name: string, close: Close): void {
    if (this.closing) throw new Error(`cannot register ${name}: the lifecycle is closing`);
    this.steps.push({ name, close });
  }

  /** Opens something and registers its close; when opening throws, nothing is registered. */
  async open<T>(
    name: string,
    open: () => T | Promise<T>,
    close: (value: T) => void | Promise<void>,
  ): Promise<T> {
    const value = await open();
    this.defer(name, () => close(value));
    return value;
  }

  /** Closes everything registered, newest first, once; later calls wait for the same close. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      let firstError: unknown;
      for (const step of this.steps.reverse()) {
        try {
          await step.close();
        } catch (error) {
          this.logger?.error({ err: error, step: step.name }, "closing failed");
          firstError ??= error;
        }
      }
      this.steps.length = 0;
      if (firstError !== undefined) throw firstError;
    })();
    return this.closing;
  }

  /**
   * Runs a start-up with this lifecycle: when it throws, what it opened is closed (errors of
   * that close are logged, the start-up's error is the one rethrown).
   */
  async start<T>(startUp: (lifecycle: Lifecycle) => Promise<T>): Promise<T> {
    try {
      return await startUp(this);
    } catch (error) {
      await this.close().catch(() => {});
      throw error;
    }
  }
}
