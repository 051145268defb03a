/**
 * The questions waiting for an upstream, by the hash of their cache key (`questionHash`), so that
 * identical questions can wait for the one in flight instead of asking again.
 *
 * A fixed open-addressing table in a typed array plus one array of promises: adding and removing
 * allocate nothing. A Map did the same job, but its ordered hash table reallocates its backing
 * store as entries come and go, about 90 bytes per forwarded query that outlived a young-generation
 * GC and so filled the old generation (issue #16, cold tails: measured with the sampling heap
 * profiler on the running server).
 *
 * Two different questions with the same hash (seeded, 32 bits) share a slot: the second one does
 * not register, and one that waits for the other's answer finds nothing for itself in the cache and
 * asks on its own, so a collision costs a wait, never a wrong answer.
 */
export class InFlightQuestions {
  private readonly hashes: Uint32Array;
  private readonly promises: (Promise<unknown> | undefined)[];
  private readonly mask: number;
  private count = 0;

  /** `capacity`: most questions registered at once; beyond, add() declines. */
  constructor(readonly capacity: number) {
    let slots = 8;
    while (slots < capacity * 2) slots *= 2;
    this.mask = slots - 1;
    this.hashes = new Uint32Array(slots);
    this.promises = new Array<Promise<unknown> | undefined>(slots).fill(undefined);
  }

  get size(): number {
    return this.count;
  }

  /** The promise in flight for `hash`, if any. */
  get(hash: number): Promise<unknown> | undefined {
    const slot = this.find(hash >>> 0);
    return slot < 0 ? undefined : this.promises[slot];
  }

  /** Registers `promise` for `hash`; false when the table is full or the hash is taken (nothing changes). */
  add(hash: number, promise: Promise<unknown>): boolean {
    const h = hash >>> 0;
    if (this.count >= this.capacity || this.find(h) >= 0) return false;
    let slot = h & this.mask;
    while (this.promises[slot] !== undefined) slot = (slot + 1) & this.mask;
    this.hashes[slot] = h;
    this.promises[slot] = promise;
    this.count++;
    return true;
  }

  /** Removes `promise` from `hash`'s slot (only that promise: a later registration is left alone). */
  delete(hash: number, promise: Promise<unknown>): void {
    const slot = this.find(hash >>> 0);
    if (slot < 0 || this.promises[slot] !== promise) return;
    this.count--;
    // Backward-shift deletion (linear probing, no tombstones), as the caches do.
    const mask = this.mask;
    let hole = slot;
    for (let j = (hole + 1) & mask; this.promises[j] !== undefined; j = (j + 1) & mask) {
      const home = this.hashes[j]! & mask;
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (stays) continue;
      this.hashes[hole] = this.hashes[j]!;
      this.promises[hole] = this.promises[j];
      hole = j;
    }
    this.promises[hole] = undefined;
  }

  private find(hash: number): number {
    const mask = this.mask;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const promise = this.promises[slot];
      if (promise === undefined) return -1;
      if (this.hashes[slot] === hash) return slot;
    }
  }
}
