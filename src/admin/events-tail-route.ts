import type { AdminAuth } from './admin-auth.js';
import { HttpError, type HttpServer } from './http-server.js';

/** What the route needs of the events pipeline (absent when --events-url is off). */
export interface EventsSource {
  subscribe(listener: (event: string) => void): () => void;
}

/** Watchers at once: each costs a connection and a copy of every event. */
const MAX_WATCHERS = 8;
/** A watcher that does not read keeps at most this much queued; beyond, its events are skipped. */
const MAX_QUEUED_BYTES = 1024 * 1024;

/**
 * GET /v1/events/tail: every event the pipeline emits from now on, one CloudEvent JSON per line
 * (application/x-ndjson), until the client hangs up. Read access, like GET /v1/lists: the admin
 * token when one is configured. A slow reader loses lines (a final count is never needed here:
 * the receiver is the record); it never slows the pipeline.
 */
export function registerEventsTail(http: HttpServer, auth: AdminAuth, events: () => EventsSource | undefined): void {
  let watchers = 0;
  http.route('GET', '/v1/events/tail', (req, res) => {
    auth.authorize(req, false);
    const source = events();
    if (source === undefined) {
      throw new HttpError(404, 'E_EVENTS_OFF', 'events are off on this server: start it with --events-url (or watch blocks with --query-log-blocked-only)');
    }
    if (watchers >= MAX_WATCHERS) throw new HttpError(429, 'E_BAD_REQUEST', `at most ${MAX_WATCHERS} event watchers at once; close one`);
    watchers++;
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    res.flushHeaders();
    const unsubscribe = source.subscribe((event) => {
      if (res.writableLength < MAX_QUEUED_BYTES) res.write(`${event}\n`);
    });
    res.on('close', () => {
      unsubscribe();
      watchers--;
    });
  });
}
