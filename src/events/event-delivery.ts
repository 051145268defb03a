import { randomUUID } from 'node:crypto';
import type { Config } from '../config/options.js';
import type { Logger } from '../log/logger.js';
import type { EventSpool, SpooledBatch } from './event-spool.js';
import { classifyResult, type PostResult } from './http-post.js';
import type { WebhookSigner } from './webhook-signer.js';

/** Why events were dropped after they were emitted (the `reason` label of fraudwall_events_dropped_total). */
export type DeliveryDropReason = 'spool-full' | 'rejected' | 'too-large' | 'spool-unreadable';

export interface DeliveryCounters {
  delivered(count: number, latencySeconds: number): void;
  retried(): void;
  spooled(count: number): void;
  dropped(reason: DeliveryDropReason, count: number): void;
  spoolBytes(bytes: number): void;
  /** The receiver refuses us (401/403) or is gone (410): an operator must act. */
  refusing(reason: 'unauthorized' | 'gone', on: boolean): void;
}

export type DeliveryOptions = Pick<Config, 'eventsTimeoutMs' | 'eventsRetryMaxMs' | 'eventsSpoolMaxBytes'> & {
  readonly url: URL;
  readonly userAgent: string;
};

export type Post = (url: URL, headers: Record<string, string>, body: Buffer, timeoutMs: number) => Promise<PostResult>;

interface Pending extends Omit<SpooledBatch, 'bytes'> {
  bytes: number;
  /** In memory until written to the spool (then read back when its turn comes). */
  body: Buffer | undefined;
  persisted: boolean;
}

const FIRST_RETRY_MS = 500;
/** Repeated delivery failures are logged at most this often. */
const LOG_EVERY_MS = 60_000;

/**
 * Delivers batches to the receiver one at a time, in order, at least once. A batch goes out from
 * memory first; it is written to the spool before anything else happens when that first attempt
 * fails, and any batch that has to wait behind another is written at once. So a SIGKILL loses at
 * most the batch on its first attempt (and what the batcher holds, ≤ events-batch-ms), a graceful
 * stop loses nothing, and everything spooled goes out after a restart in its original order.
 */
export class EventDelivery {
  private readonly queue: Pending[] = [];
  private persistedBytes = 0;
  private nextSeq = 1;
  /** The head while its very first attempt runs from memory. */
  private firstAttempt: Pending | undefined;
  private gone = false;
  private closed = false;
  private failures = 0;
  private lastFailureLog = 0;
  /** Ends an idle wait (a batch arrived) or, with close, any wait. */
  private wakeIdle: (() => void) | undefined;
  private wakeBackoff: (() => void) | undefined;
  private persisting: Promise<void> = Promise.resolve();
  private persistAgain = false;
  private persistRunning = false;
  private readonly loop: Promise<void>;

  private constructor(
    private readonly options: DeliveryOptions,
    private readonly spool: EventSpool,
    private readonly signer: WebhookSigner,
    private readonly post: Post,
    private readonly counters: DeliveryCounters,
    private readonly logger: Logger,
    spooled: readonly SpooledBatch[],
  ) {
    for (const batch of spooled) {
      this.queue.push({ ...batch, body: undefined, persisted: true });
      this.persistedBytes += batch.bytes;
    }
    const last = spooled.at(-1);
    if (last) this.nextSeq = Number(last.key.slice(0, 16)) + 1;
    this.counters.spoolBytes(this.persistedBytes);
    this.loop = this.run();
  }

  /** Opens the spool and starts delivering what it holds. */
  static async open(
    options: DeliveryOptions,
    spool: EventSpool,
    signer: WebhookSigner,
    post: Post,
    counters: DeliveryCounters,
    logger: Logger,
  ): Promise<EventDelivery> {
    const spooled = await spool.open();
    if (spooled.length > 0) {
      logger.info('events: delivering batches spooled before the restart', { batches: spooled.length, events: spooled.reduce((n, b) => n + b.count, 0) });
    }
    return new EventDelivery(options, spool, signer, post, counters, logger, spooled);
  }

  /** Batches waiting (including the one being sent). */
  get waiting(): number {
    return this.queue.length;
  }

  /** Queues one batch of serialized CloudEvents; never waits. */
  enqueue(events: readonly string[], firstAt: number): void {
    if (events.length === 0) return;
    const body = Buffer.from(`[${events.join(',')}]`);
    const batch: Pending = {
      key: String(this.nextSeq++).padStart(16, '0'),
      id: `msg_${randomUUID().replaceAll('-', '')}`,
      count: events.length,
      firstAt,
      bytes: body.length,
      body,
      persisted: false,
    };
    this.queue.push(batch);
    if (this.queue.length > 1) this.schedulePersist();
    this.wakeIdle?.();
  }

  /** Stops delivering, writes every batch not yet on disk to the spool, and waits for that. */
  async close(): Promise<void> {
    this.closed = true;
    this.firstAttempt = undefined;
    this.wakeIdle?.();
    this.wakeBackoff?.();
    this.schedulePersist();
    await this.persisting;
    await Promise.race([this.loop, new Promise((resolve) => setTimeout(resolve, 100).unref())]);
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      const head = this.queue[0];
      if (head === undefined || this.gone) {
        await new Promise<void>((resolve) => (this.wakeIdle = resolve));
        this.wakeIdle = undefined;
        continue;
      }
      let body = head.body;
      if (body === undefined) {
        try {
          body = await this.spool.read(head);
        } catch (error) {
          this.logger.error('events: a spooled batch cannot be read; it is dropped', { batch: head.id, err: error });
          await this.finish(head, 'spool-unreadable');
          continue;
        }
      }
      if (!head.persisted) this.firstAttempt = head;
      const result = await this.post(this.options.url, this.headers(head.id, body), body, this.options.eventsTimeoutMs);
      this.firstAttempt = undefined;
      if (this.closed) return;
      const outcome = classifyResult(result);
      const what = 'status' in result ? `HTTP ${result.status}` : result.error;
      switch (outcome) {
        case 'delivered':
          this.counters.delivered(head.count, Math.max(0, Date.now() - head.firstAt) / 1000);
          this.counters.refusing('unauthorized', false);
          if (this.failures > 0) this.logger.info('events: the receiver takes events again', { after: this.failures });
          this.failures = 0;
          await this.finish(head, undefined);
          break;
        case 'split':
          await this.split(head, body);
          break;
        case 'rejected':
          this.logger.warn(`[E_EVENTS_REJECTED] events: the receiver rejected a batch (${what}); its events are dropped`, {
            batch: head.id,
            events: head.count,
          });
          await this.finish(head, 'rejected');
          break;
        case 'gone':
          this.gone = true;
          this.counters.refusing('gone', true);
          this.schedulePersist();
          this.logger.error(
            `[E_EVENTS_GONE] events: the receiver answered 410 Gone; delivery stops until fraudwall restarts. ` +
              'Events keep going to the spool; fix --events-url and restart to deliver them',
          );
          break;
        case 'unauthorized':
          this.counters.refusing('unauthorized', true);
          await this.retryLater(
            head,
            `[E_EVENTS_AUTH] events: the receiver refuses our signature (${what}); check that it has the secret of --events-secret-file. Events keep going to the spool`,
          );
          break;
        case 'retry':
          await this.retryLater(head, `[E_EVENTS_DELIVERY] events: delivery failed (${what}); retrying with backoff, events are spooled meanwhile`);
          break;
      }
    }
  }

  private headers(id: string, body: Buffer): Record<string, string> {
    return {
      'content-type': 'application/cloudevents-batch+json',
      'user-agent': this.options.userAgent,
      ...this.signer.headers(id, body, Date.now()),
    };
  }

  private async retryLater(head: Pending, message: string): Promise<void> {
    this.counters.retried();
    this.failures++;
    const now = Date.now();
    if (this.failures === 1 || now - this.lastFailureLog >= LOG_EVERY_MS) {
      this.lastFailureLog = now;
      this.logger.error(message, { attempts: this.failures, waiting: this.queue.length });
    }
    if (!head.persisted) this.schedulePersist();
    const ceiling = Math.min(this.options.eventsRetryMaxMs, FIRST_RETRY_MS * 2 ** Math.min(this.failures - 1, 30));
    // Equal jitter: half fixed, half random, so many fraudwalls do not hit a recovering receiver at once.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ceiling / 2 + Math.random() * (ceiling / 2));
      this.wakeBackoff = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wakeBackoff = undefined;
  }

  /** 413: the receiver takes smaller batches; send each half in its place (a single event too large is dropped). */
  private async split(head: Pending, body: Buffer): Promise<void> {
    if (head.count <= 1) {
      this.logger.warn('[E_EVENTS_REJECTED] events: the receiver answered 413 to a single event; it is dropped', { batch: head.id });
      await this.finish(head, 'too-large');
      return;
    }
    const events = (JSON.parse(body.toString()) as unknown[]).map((event) => JSON.stringify(event));
    const middle = Math.ceil(events.length / 2);
    const halves: Pending[] = [events.slice(0, middle), events.slice(middle)].map((part, i) => {
      const partBody = Buffer.from(`[${part.join(',')}]`);
      return {
        key: `${head.key}${i === 0 ? 'a' : 'b'}`,
        id: `${head.id}${i === 0 ? 'a' : 'b'}`,
        count: part.length,
        firstAt: head.firstAt,
        bytes: partBody.length,
        body: partBody,
        persisted: false,
      };
    });
    if (head.persisted) {
      await this.spool.write(halves.map((half) => ({ batch: half, body: half.body! })));
      for (const half of halves) half.persisted = true;
      this.persistedBytes += halves[0]!.bytes + halves[1]!.bytes;
      await this.spool.remove(head);
      this.persistedBytes -= head.bytes;
      this.counters.spoolBytes(this.persistedBytes);
    }
    this.queue.splice(0, 1, ...halves);
  }

  /** Takes the head off the queue (delivered, or dropped for `dropReason`) and out of the spool. */
  private async finish(head: Pending, dropReason: DeliveryDropReason | undefined): Promise<void> {
    if (this.queue[0] === head) this.queue.shift();
    if (dropReason !== undefined) this.counters.dropped(dropReason, head.count);
    if (head.persisted) {
      head.persisted = false;
      this.persistedBytes -= head.bytes;
      this.counters.spoolBytes(this.persistedBytes);
      await this.spool.remove(head).catch((error: unknown) => this.logger.warn('events: a finished batch could not be removed from the spool; it is sent again after a restart (same webhook-id): check that STATE/events is writable', { err: error }));
    }
  }

  /** Group commit: writes every batch that must be on disk (all but a head on its first attempt). */
  private schedulePersist(): void {
    if (this.persistRunning) {
      this.persistAgain = true;
      return;
    }
    this.persistRunning = true;
    this.persisting = (async () => {
      do {
        this.persistAgain = false;
        const due = this.queue.filter((batch) => !batch.persisted && batch !== this.firstAttempt && batch.body !== undefined);
        try {
          await this.spool.write(due.map((batch) => ({ batch, body: batch.body! })));
          for (const batch of due) {
            if (!this.queue.includes(batch)) {
              // Delivered (or dropped) from memory while it was being written: its file must not linger.
              await this.spool.remove(batch);
              continue;
            }
            batch.persisted = true;
            this.persistedBytes += batch.bytes;
            // The head keeps its bytes for the next attempt; the rest are read back when their turn comes.
            if (batch !== this.queue[0]) batch.body = undefined;
          }
          const kept = due.filter((batch) => batch.persisted);
          if (kept.length > 0) this.counters.spooled(kept.reduce((n, batch) => n + batch.count, 0));
          await this.enforceBound();
        } catch (error) {
          this.logger.error('[E_EVENTS_SPOOL] events: the spool cannot be written; undelivered events stay in memory only (check free space and --state)', {
            err: error,
          });
          await this.enforceBound().catch(() => undefined);
        }
        this.counters.spoolBytes(this.persistedBytes);
      } while (this.persistAgain);
      this.persistRunning = false;
    })();
  }

  /**
   * Over events-spool-max-bytes the oldest batches go first (never the head, which is being sent),
   * counted. Batches held in memory because the disk failed count too, so a broken disk cannot make
   * memory grow without bound either.
   */
  private async enforceBound(): Promise<void> {
    let held = this.queue.reduce((sum, batch) => sum + (batch.persisted || batch.body !== undefined ? batch.bytes : 0), 0);
    let dropped = 0;
    while (held > this.options.eventsSpoolMaxBytes && this.queue.length > 1) {
      const oldest = this.queue[1]!;
      this.queue.splice(1, 1);
      held -= oldest.bytes;
      dropped += oldest.count;
      await this.finish(oldest, 'spool-full');
    }
    if (dropped > 0) {
      this.logger.warn('events: the spool is full; the oldest undelivered events were dropped (raise --events-spool-max-bytes or fix the receiver)', { dropped });
    }
  }
}
