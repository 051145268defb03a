import type { BlockedLookup } from './blocked-lookup.js';
import { EventGate, type EventGateOptions } from './event-gate.js';
import { newEventsStats, type EventsStats } from './events-stats.js';

/**
 * The events pipeline's stand-in in a cluster worker (--workers > 1): the worker's own gate turns
 * away repeats and floods before anything crosses the IPC channel, and each admitted lookup is
 * handed to `send` (to the primary, whose pipeline dedupes across workers, spools and delivers).
 * A lookup is turned away once, here or there, so the workers' and the primary's counts add up.
 */
export class EventsRelay {
  readonly stats: EventsStats = newEventsStats();
  private readonly gate: EventGate;

  constructor(
    options: EventGateOptions,
    private readonly send: (lookup: BlockedLookup) => void,
  ) {
    this.gate = new EventGate(options, this.stats);
  }

  admit(clientAddress: string, name: string, monotonicMs: number): string | undefined {
    return this.gate.admit(clientAddress, name, monotonicMs);
  }

  enqueue(lookup: BlockedLookup, _domain: string): void {
    this.send(lookup);
  }
}
