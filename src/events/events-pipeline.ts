import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import type { Config } from '../config/options.js';
import { FraudwallError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { BlockedLookup } from './blocked-lookup.js';
import { blockedCloudEvent, type CloudEventOptions } from './cloud-event.js';
import { EventGate } from './event-gate.js';
import { newEventsStats, type EventsStats } from './events-stats.js';
import { EventDelivery, type DeliveryCounters, type DeliveryDropReason, type Post } from './event-delivery.js';
export { EVENT_DROP_REASONS, type EventDropReason, type EventsStats } from './events-stats.js';
import { EventSpool } from './event-spool.js';
import { parseEventsUrl } from './events-url.js';
import { postOnce } from './http-post.js';
import { parseWebhookSecrets, WebhookSigner } from './webhook-signer.js';

/** This component's section of the settings (see config/options.ts for what each means). */
export type EventsOptions = Pick<
  Config,
  | 'eventsUrl'
  | 'eventsSecretFile'
  | 'eventsClient'
  | 'eventsDedupe'
  | 'eventsAllowInsecure'
  | 'eventsBatchSize'
  | 'eventsBatchMs'
  | 'eventsRate'
  | 'eventsClientRate'
  | 'eventsTimeoutMs'
  | 'eventsRetryMaxMs'
  | 'eventsSpoolMaxBytes'
  | 'eventsInstance'
  | 'state'
>;

export interface EventsDeps {
  readonly logger: Logger;
  readonly userAgent: string;
  readonly env: NodeJS.ProcessEnv;
  readonly qtypeName: (qtype: number) => string;
  /** Delivery latency of `count` events, from the first event of their batch to the receiver's 2xx. */
  readonly observeLatency?: (seconds: number, count: number) => void;
  /** Tests inject failures here; the server uses node:http/https. */
  readonly post?: Post;
}

/** Lookups waiting to become events; beyond this the query path drops and counts instead of waiting. */
const QUEUE_LIMIT = 10_000;

async function readSecrets(options: EventsOptions, env: NodeJS.ProcessEnv): Promise<Buffer[]> {
  const fromEnv = env['FRAUDWALL_EVENTS_SECRET'];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return parseWebhookSecrets(fromEnv, 'FRAUDWALL_EVENTS_SECRET');
  if (options.eventsSecretFile === 'off') {
    throw new FraudwallError(
      'E_EVENTS_SECRET',
      'events are signed and need a secret: set --events-secret-file FILE or FRAUDWALL_EVENTS_SECRET (make one with: echo "whsec_$(openssl rand -base64 32)")',
    );
  }
  let text: string;
  try {
    text = await readFile(options.eventsSecretFile, 'utf8');
  } catch (error) {
    throw new FraudwallError(
      'E_EVENTS_SECRET',
      `--events-secret-file ${options.eventsSecretFile} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    );
  }
  return parseWebhookSecrets(text, options.eventsSecretFile);
}

/**
 * Early-warning events: the query path hands over one record per blocked lookup (record(), a few
 * hundred nanoseconds, never waits); repeats of one client + registrable domain within the dedupe
 * window and lookups over the rate bounds stop there. The rest become CloudEvents off the query
 * path, are batched (events-batch-size or events-batch-ms), signed and delivered by EventDelivery.
 */
export class EventsPipeline {
  readonly stats: EventsStats = newEventsStats();
  private readonly gate: EventGate;
  private queue: { lookup: BlockedLookup; domain: string }[] = [];
  private drainScheduled = false;
  private batch: string[] = [];
  private batchFirstAt = 0;
  private batchTimer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<(event: string) => void>();
  private delivery!: EventDelivery;
  private closed = false;
  private readonly eventOptions: CloudEventOptions;

  private constructor(
    private readonly options: EventsOptions,
    private readonly deps: EventsDeps,
  ) {
    this.gate = new EventGate(options, this.stats);
    this.eventOptions = { eventsClient: options.eventsClient, instance: options.eventsInstance || hostname(), qtypeName: deps.qtypeName };
  }

  /** Checks the URL and secret, opens the spool (delivering what an earlier run left) and starts. */
  static async start(options: EventsOptions, deps: EventsDeps): Promise<EventsPipeline> {
    const url = parseEventsUrl(options.eventsUrl, options.eventsAllowInsecure);
    const signer = new WebhookSigner(await readSecrets(options, deps.env));
    const pipeline = new EventsPipeline(options, deps);
    const spool = new EventSpool(path.join(options.state, 'events'));
    pipeline.delivery = await EventDelivery.open(
      { ...options, url, userAgent: deps.userAgent },
      spool,
      signer,
      deps.post ?? postOnce,
      pipeline.deliveryCounters(),
      deps.logger,
    );
    return pipeline;
  }

  /**
   * The query path, first half: should this blocked lookup become an event? Dedupe, rate bounds and
   * queue space are decided here from three plain values, so a repeat (the common case in a flood)
   * allocates nothing. `monotonicMs` is the query's receipt time (performance.now(), which the
   * transport already took): reading the clock again costs a few hundred nanoseconds on some VMs.
   * Returns the registrable domain when it should, then call enqueue().
   */
  admit(clientAddress: string, name: string, monotonicMs: number): string | undefined {
    if (this.closed) return undefined;
    const domain = this.gate.admit(clientAddress, name, monotonicMs);
    if (domain !== undefined && this.queue.length >= QUEUE_LIMIT) {
      this.stats.dropped['queue-full']++;
      return undefined;
    }
    return domain;
  }

  /** The query path, second half: queues an admitted lookup; the event is built off the query path. Never waits. */
  enqueue(lookup: BlockedLookup, domain: string): void {
    this.queue.push({ lookup, domain });
    if (!this.drainScheduled) {
      this.drainScheduled = true;
      setImmediate(() => this.drain());
    }
  }

  /** admit() and enqueue() in one, for callers that already hold the record (now on the monotonic clock). */
  record(lookup: BlockedLookup, monotonicMs = performance.now()): void {
    const domain = this.admit(lookup.clientAddress, lookup.name, monotonicMs);
    if (domain !== undefined) this.enqueue(lookup, domain);
  }

  /** `fraudwall events tail`: every emitted event, serialized, as it is batched. */
  subscribe(listener: (event: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Sends what is batched to delivery, stops it and writes everything undelivered to the spool. */
  async close(): Promise<void> {
    this.drain();
    this.closed = true;
    this.flushBatch();
    await this.delivery.close();
  }

  private drain(): void {
    this.drainScheduled = false;
    if (this.closed) return;
    const queued = this.queue;
    this.queue = [];
    for (const { lookup, domain } of queued) {
      const event = blockedCloudEvent(lookup, domain, this.eventOptions);
      this.stats.emitted++;
      for (const listener of this.listeners) listener(event);
      if (this.batch.length === 0) {
        this.batchFirstAt = lookup.at;
        this.batchTimer = setTimeout(() => this.flushBatch(), this.options.eventsBatchMs);
      }
      this.batch.push(event);
      if (this.batch.length >= this.options.eventsBatchSize) this.flushBatch();
    }
  }

  private flushBatch(): void {
    clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    if (this.batch.length === 0) return;
    const events = this.batch;
    this.batch = [];
    this.delivery.enqueue(events, this.batchFirstAt);
  }

  private deliveryCounters(): DeliveryCounters {
    const stats = this.stats;
    const observe = this.deps.observeLatency;
    return {
      delivered(count, seconds) {
        stats.delivered += count;
        observe?.(seconds, count);
      },
      retried() {
        stats.retried++;
      },
      spooled(count) {
        stats.spooled += count;
      },
      dropped(reason: DeliveryDropReason, count) {
        stats.dropped[reason] += count;
      },
      spoolBytes(bytes) {
        stats.spoolBytes = bytes;
      },
      refusing(reason, on) {
        stats.refusing[reason] = on;
      },
    };
  }
}
