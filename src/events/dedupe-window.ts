/**
 * "Seen this key within the last windowMs?" with bounded memory. Keys live in a Map in the order
 * they were (re)stamped, so the oldest stamp is always first: expired keys are swept from the front,
 * and when the map is full the oldest key is forgotten (at worst one extra event, never unbounded
 * growth). Keys hold raw client addresses, so they stay in memory and are never written anywhere.
 */
export class DedupeWindow {
  private readonly stamps = new Map<string, number>();

  constructor(
    private readonly windowMs: number,
    private readonly maxKeys: number,
  ) {}

  /** True (and stamps the key) when `key` was not seen within the window; false for a repeat. */
  admit(key: string, now: number): boolean {
    if (this.windowMs <= 0) return true;
    const stamp = this.stamps.get(key);
    if (stamp !== undefined && now - stamp < this.windowMs) return false;
    if (stamp !== undefined) this.stamps.delete(key);
    this.sweep(now);
    if (this.stamps.size >= this.maxKeys) this.stamps.delete(this.stamps.keys().next().value!);
    this.stamps.set(key, now);
    return true;
  }

  get size(): number {
    return this.stamps.size;
  }

  private sweep(now: number): void {
    for (const [key, stamp] of this.stamps) {
      if (now - stamp < this.windowMs) return;
      this.stamps.delete(key);
    }
  }
}
