/**
 * "Has this client looked up this registrable domain within the last windowMs?" with bounded
 * memory. Stamps live in a Map per client keyed by domain: the domain strings come from the
 * registrable-domain memo, so their hashes are cached and a repeat costs two Map lookups and no new
 * string. A FIFO of admissions, oldest first, sweeps expired stamps and, when maxKeys are held,
 * forgets the oldest (at worst one extra event, never unbounded growth). Raw client addresses stay
 * in this memory only; nothing here is written anywhere.
 */
export class DedupeWindow {
  private readonly clients = new Map<string, Map<string, number>>();
  private readonly order: { client: string; domain: string; stamp: number }[] = [];
  private head = 0;
  private held = 0;

  constructor(
    private readonly windowMs: number,
    private readonly maxKeys: number,
  ) {}

  /** True (and stamps the pair) when `client` has not looked up `domain` within the window; false for a repeat. */
  admit(client: string, domain: string, now: number): boolean {
    if (this.windowMs <= 0) return true;
    const domains = this.clients.get(client);
    const stamp = domains?.get(domain);
    if (stamp !== undefined && now - stamp < this.windowMs) return false;
    this.sweep(now);
    while (this.held >= this.maxKeys) this.forgetOldest();
    let target = this.clients.get(client);
    if (target === undefined) {
      target = new Map();
      this.clients.set(client, target);
    }
    if (!target.has(domain)) this.held++;
    target.set(domain, now);
    this.order.push({ client, domain, stamp: now });
    return true;
  }

  /** Client + domain pairs held. */
  get size(): number {
    return this.held;
  }

  private sweep(now: number): void {
    while (this.head < this.order.length && now - this.order[this.head]!.stamp >= this.windowMs) this.forgetOldest();
  }

  private forgetOldest(): void {
    const oldest = this.order[this.head++];
    if (oldest === undefined) return;
    const domains = this.clients.get(oldest.client);
    // A pair stamped again later has a newer FIFO entry: only the entry with its current stamp removes it.
    if (domains !== undefined && domains.get(oldest.domain) === oldest.stamp) {
      domains.delete(oldest.domain);
      this.held--;
      if (domains.size === 0) this.clients.delete(oldest.client);
    }
    // Compact the FIFO once its consumed head is large, so it never grows beyond ~2× what is held.
    if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order.splice(0, this.head);
      this.head = 0;
    }
  }
}
