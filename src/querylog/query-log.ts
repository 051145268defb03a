import type { Writable } from 'node:stream';

export interface QueryLogOptions {
  /** Lines waiting for the stream beyond this many bytes are dropped and counted, never buffered without bound. */
  readonly maxBufferedBytes: number;
  readonly flushIntervalMs: number;
  /** Called once per dropped line (the metrics layer counts it). */
  readonly onDrop: () => void;
}

const FLUSH_AT_BYTES = 64 * 1024;

/**
 * A buffered NDJSON sink that never blocks the hot path: lines are batched and written every
 * `flushIntervalMs` or every 64 KiB; while the stream is congested (write() returned false),
 * lines accumulate up to `maxBufferedBytes` and are dropped and counted beyond that.
 */
export class QueryLog {
  private chunks: string[] = [];
  private bufferedBytes = 0;
  private waitingForDrain = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly stream: Writable,
    private readonly options: QueryLogOptions,
  ) {
    this.timer = setInterval(() => this.flush(), options.flushIntervalMs);
    this.timer.unref();
    // A broken pipe or full disk must not crash the resolver; the log just stops.
    stream.on('error', () => {
      this.waitingForDrain = true;
    });
  }

  write(line: string): void {
    if (this.bufferedBytes + line.length > this.options.maxBufferedBytes) {
      this.options.onDrop();
      return;
    }
    this.chunks.push(line);
    this.bufferedBytes += line.length;
    if (this.bufferedBytes >= FLUSH_AT_BYTES) this.flush();
  }

  flush(): void {
    if (this.waitingForDrain || this.chunks.length === 0) return;
    const data = this.chunks.join('');
    this.chunks = [];
    this.bufferedBytes = 0;
    if (!this.stream.write(data)) {
      this.waitingForDrain = true;
      this.stream.once('drain', () => {
        this.waitingForDrain = false;
        this.flush();
      });
    }
  }

  /** Writes what is buffered and, unless the stream is stdout/stderr, ends it. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.waitingForDrain = false;
    this.flush();
    if (this.stream === process.stdout || this.stream === process.stderr) return;
    await new Promise<void>((resolve) => this.stream.end(resolve));
  }
}
