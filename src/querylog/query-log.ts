import type { Writable } from 'node:stream';

export interface QueryLogOptions {
  /** Lines waiting for the stream beyond this many bytes are dropped and counted, never buffered without bound. */
  readonly maxBufferedBytes: number;
  readonly flushIntervalMs: number;
  /** Called once per dropped line (the metrics layer counts it). */
  readonly onDrop: () => void;
  /** Called when the stream fails (disk full, broken pipe); lines are then kept until the buffer is full, then dropped. */
  readonly onError?: (error: Error) => void;
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
    private stream: Writable,
    private readonly options: QueryLogOptions,
  ) {
    this.timer = setInterval(() => this.flush(), options.flushIntervalMs);
    this.timer.unref();
    this.watch(stream);
  }

  /** A broken pipe or full disk must not crash the resolver; the log stops until the file is reopened. */
  private watch(stream: Writable): void {
    stream.on('error', (error: Error) => {
      if (stream !== this.stream) return;
      this.waitingForDrain = true;
      this.options.onError?.(error);
    });
  }

  /**
   * Switches to `stream` (the file reopened at its path after logrotate moved it): what was written
   * so far ends in the old file, buffered lines go to the new one. Resolves once the old stream is
   * closed.
   */
  async switchTo(stream: Writable): Promise<void> {
    const old = this.stream;
    this.stream = stream;
    this.watch(stream);
    this.waitingForDrain = false;
    this.flush();
    if (old === process.stdout || old === process.stderr) return;
    await new Promise<void>((resolve) => {
      old.once('error', () => resolve());
      old.end(resolve);
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
