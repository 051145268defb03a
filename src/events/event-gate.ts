import type { Config } from '../config/options.js';
import { DedupeWindow } from './dedupe-window.js';
import type { EventsStats } from './events-stats.js';
import { RateBounds } from './rate-bounds.js';
import { RegistrableDomainMemo } from './registrable-domain.js';

export type EventGateOptions = Pick<Config, 'eventsDedupe' | 'eventsRate' | 'eventsClientRate'>;

/** Client+domain pairs remembered for dedupe (≈ 100 bytes each). */
const DEDUPE_KEYS = 200_000;
/** Clients whose event rate is tracked. */
const RATE_CLIENTS = 50_000;

/**
 * Which blocked lookups become events: the first of a client + registrable domain within the
 * dedupe window, within the per-client and global rate bounds. What it turns away is counted in
 * `stats` (deduplicated; dropped as client-rate / global-rate).
 */
export class EventGate {
  private readonly dedupe: DedupeWindow;
  private readonly rates: RateBounds;
  private readonly domains = new RegistrableDomainMemo();

  constructor(
    options: EventGateOptions,
    private readonly stats: Pick<EventsStats, 'deduplicated' | 'dropped'>,
  ) {
    this.dedupe = new DedupeWindow(options.eventsDedupe * 1000, DEDUPE_KEYS);
    this.rates = new RateBounds({ eventsRate: options.eventsRate, eventsClientRate: options.eventsClientRate, maxClients: RATE_CLIENTS }, performance.now());
  }

  /** The registrable domain of `name` when this lookup should become an event; undefined (counted) when not. */
  admit(clientAddress: string, name: string, monotonicMs: number): string | undefined {
    const domain = this.domains.of(name);
    if (!this.dedupe.admit(clientAddress, domain, monotonicMs)) {
      this.stats.deduplicated++;
      return undefined;
    }
    const rate = this.rates.take(clientAddress, monotonicMs);
    if (rate !== 'ok') {
      this.stats.dropped[rate]++;
      return undefined;
    }
    return domain;
  }
}
