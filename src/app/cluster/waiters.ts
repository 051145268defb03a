/**
 * Promises that settle when a condition over the pool's state becomes true. Whoever changes that
 * state (a worker message, an exit) calls wake(); nothing polls.
 */
export class Waiters {
  private readonly pending = new Set<{ check: () => boolean; resolve: () => void }>();

  /** True once `check()` holds, false if it still does not after `timeoutMs`. */
  until(check: () => boolean, timeoutMs: number): Promise<boolean> {
    if (check()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = {
        check,
        resolve: () => {
          clearTimeout(timer);
          this.pending.delete(waiter);
          resolve(true);
        },
      };
      const timer = setTimeout(() => {
        this.pending.delete(waiter);
        resolve(false);
      }, timeoutMs);
      this.pending.add(waiter);
    });
  }

  wake(): void {
    for (const waiter of [...this.pending]) if (waiter.check()) waiter.resolve();
  }
}
