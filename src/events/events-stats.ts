// The running totals of the events pipeline (and of a cluster worker's relay), read by the metrics
// layer at scrape time; the query path bumps plain numbers.

/** Every reason an event can be dropped (the `reason` label of fraudwall_events_dropped_total). */
export const EVENT_DROP_REASONS = ['queue-full', 'client-rate', 'global-rate', 'spool-full', 'rejected', 'too-large', 'spool-unreadable'] as const;
export type EventDropReason = (typeof EVENT_DROP_REASONS)[number];

/** Running totals, read by the metrics layer at scrape time. */
export interface EventsStats {
  emitted: number;
  deduplicated: number;
  delivered: number;
  retried: number;
  spooled: number;
  spoolBytes: number;
  readonly dropped: Record<EventDropReason, number>;
  readonly refusing: { unauthorized: boolean; gone: boolean };
}

export function newEventsStats(): EventsStats {
  return {
    emitted: 0,
    deduplicated: 0,
    delivered: 0,
    retried: 0,
    spooled: 0,
    spoolBytes: 0,
    dropped: Object.fromEntries(EVENT_DROP_REASONS.map((reason) => [reason, 0])) as Record<EventDropReason, number>,
    refusing: { unauthorized: false, gone: false },
  };
}
