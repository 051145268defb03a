import type { UrlListSpec } from '../config/options.js';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Logger } from '../log/logger.js';
import { parseList, type ParsedList } from '../policy/parse-list.js';
import { parseRpz } from '../policy/parse-rpz.js';
import type { RuleKind } from '../query/rule.js';
import { writeFileAtomic } from './atomic-file.js';
import type { ListRecord, ListRegistry } from './list-registry.js';
import type { StateStore } from './state-store.js';
import { publicSuffixWarning } from './load-lists.js';


export interface UrlListOptions {
  /** url-min-valid-percent: a download with a smaller share of usable lines is garbage, not a list. */
  readonly urlMinValidPercent: number;
  readonly timeoutMs: number;
  /** Largest download accepted. */
  readonly maxBytes: number;
  readonly onResult?: (result: RefreshResult) => void;
}

export type RefreshResult = 'updated' | 'not-modified' | 'rejected' | 'failed';

/** A downloaded list as one instance published it for the others (--redis-share-url-lists). */
export interface SharedUrlCopy {
  readonly url: string;
  readonly body: Buffer;
  readonly sha256: string;
  readonly etag?: string | undefined;
  readonly lastModified?: string | undefined;
  readonly fetchedAt: string;
}

/**
 * One download per fleet: before each refresh an instance asks whether it holds the list's lease
 * ('download': fetch and publish), or another instance does ('adopt': take the published copy).
 * 'self' means the share cannot be reached: download as a lone instance would.
 */
export interface UrlListShare {
  role(name: string, leaseMs: number): Promise<'download' | 'adopt' | 'self'>;
  publish(name: string, copy: SharedUrlCopy): Promise<void>;
  /** The published copy, if any; undefined also when the share cannot be reached. */
  read(name: string): Promise<SharedUrlCopy | undefined>;
}

interface CopyMeta {
  readonly url: string;
  readonly etag?: string | undefined;
  readonly lastModified?: string | undefined;
  readonly fetchedAt: string;
  /** SHA-256 of the body (hex): a publisher without validators sends the same bytes again. */
  readonly sha256?: string | undefined;
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/**
 * A list downloaded from a URL on a schedule. Conditional requests (ETag / If-Modified-Since) keep
 * refreshes cheap; the last good copy lives in the state directory and is what loads at start and
 * what stays in effect when a download fails or returns something that is not a usable list.
 */
export class UrlListSource {
  private meta: CopyMeta | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private registry: ListRegistry | undefined;
  private share: UrlListShare | undefined;

  constructor(
    readonly spec: UrlListSpec,
    private readonly state: StateStore,
    private readonly logger: Logger,
    private readonly options: UrlListOptions,
  ) {}

  /** The last good copy from the state directory, if any (read at start, before DNS is served). */
  async loadLastGood(generation: number): Promise<ListRecord | undefined> {
    const files = this.state.urlCopyFiles(this.spec.name);
    try {
      // The body is parsed from its bytes: no string of the whole list is made.
      const [body, meta] = await Promise.all([readFile(files.body), readFile(files.meta, 'utf8')]);
      const parsedMeta = JSON.parse(meta) as CopyMeta;
      // A changed URL must not send the old URL's validators (or be taken for its content's source).
      if (parsedMeta.url !== this.spec.url) return undefined;
      this.meta = parsedMeta;
      return this.record(this.parse(body), Date.parse(parsedMeta.fetchedAt) || Date.now(), generation);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.logger.warn(`last good copy of URL list "${this.spec.name}" is unreadable; it will be downloaded again`, { err: error });
      }
      return undefined;
    }
  }

  /** From now on, refreshes go through the fleet's share (one download per fleet). */
  shareThrough(share: UrlListShare): void {
    this.share = share;
  }

  /** Starts refreshing on schedule through `registry`; the first refresh is one interval away. */
  start(registry: ListRegistry): void {
    this.registry = registry;
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.refresh().finally(() => this.schedule());
    }, this.spec.refreshSeconds * 1000);
    this.timer.unref();
  }

  /** Downloads now; on success swaps the list in. Never throws. */
  async refresh(registry: ListRegistry | undefined = this.registry): Promise<RefreshResult> {
    const result = await this.download(registry).catch((error: unknown) => {
      this.logger.warn(`URL list "${this.spec.name}": download failed (${(error as Error).message}); keeping the last good copy`, {
        url: this.spec.url,
      });
      return 'failed' as const;
    });
    this.options.onResult?.(result);
    return result;
  }

  private async download(registry: ListRegistry | undefined): Promise<RefreshResult> {
    // The lease outlives one missed refresh, so a crashed downloader is replaced within two intervals.
    const role = this.share ? await this.share.role(this.spec.name, this.spec.refreshSeconds * 2000).catch(() => 'self' as const) : 'self';
    if (role === 'adopt') {
      const adopted = await this.adopt(registry);
      if (adopted !== undefined) return adopted;
      // Nothing usable published yet: download this once, as a lone instance would.
    }
    const headers: Record<string, string> = { 'user-agent': 'fraudwall' };
    if (this.meta?.etag) headers['if-none-match'] = this.meta.etag;
    if (this.meta?.lastModified) headers['if-modified-since'] = this.meta.lastModified;
    const response = await fetch(this.spec.url, { headers, signal: AbortSignal.timeout(this.options.timeoutMs), redirect: 'follow' });
    if (response.status === 304) {
      await response.body?.cancel();
      if (role === 'download') await this.publishIfMissing();
      return 'not-modified';
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(`HTTP ${response.status}`);
    }
    const body: Buffer = await this.readLimited(response);
    const digest = sha256(body);
    if (digest === this.meta?.sha256 && registry?.get(this.spec.name)?.origin === this.spec.url) {
      // The same bytes as the list in effect (a publisher without ETag or Last-Modified): building
      // a new policy, and copying it to every worker, would change nothing.
      if (role === 'download') await this.publishIfMissing();
      return 'not-modified';
    }
    const meta: CopyMeta = {
      url: this.spec.url,
      etag: response.headers.get('etag') ?? undefined,
      lastModified: response.headers.get('last-modified') ?? undefined,
      fetchedAt: new Date().toISOString(),
      sha256: digest,
    };
    const result = await this.apply(registry, body, meta);
    if (result === 'updated' && role === 'download') {
      await this.share!.publish(this.spec.name, { ...meta, sha256: digest, body }).catch((error: unknown) =>
        this.logger.warn(`URL list "${this.spec.name}": could not publish the download to the fleet; the others keep their copy until the next refresh`, { err: error }),
      );
    }
    return result;
  }

  /** The list did not change, but the fleet may lack it (Redis emptied, or a new downloader): publish the last good copy. */
  private async publishIfMissing(): Promise<void> {
    const meta = this.meta;
    if (meta?.sha256 === undefined) return;
    try {
      const published = await this.share!.read(this.spec.name);
      if (published?.sha256 === meta.sha256 && published.url === this.spec.url) return;
      const body = await readFile(this.state.urlCopyFiles(this.spec.name).body);
      await this.share!.publish(this.spec.name, { ...meta, sha256: meta.sha256, body });
    } catch (error) {
      this.logger.warn(`URL list "${this.spec.name}": could not publish the last good copy to the fleet`, { err: error });
    }
  }

  /** Takes the copy another instance published; undefined when there is none for this URL yet. */
  private async adopt(registry: ListRegistry | undefined): Promise<RefreshResult | undefined> {
    const copy = await this.share!.read(this.spec.name).catch(() => undefined);
    if (copy === undefined || copy.url !== this.spec.url) return undefined;
    if (copy.sha256 === this.meta?.sha256 && registry?.get(this.spec.name)?.origin === this.spec.url) return 'not-modified';
    const { body, ...meta } = copy;
    return this.apply(registry, body, meta);
  }

  /** Checks a downloaded body, keeps it as the last good copy and swaps it in. */
  private async apply(registry: ListRegistry | undefined, body: Buffer, meta: CopyMeta): Promise<RefreshResult> {
    const list = this.parse(body);
    const usable = list.size;
    const total = usable + list.skipped.length;
    if (usable === 0 || usable * 100 < this.options.urlMinValidPercent * total) {
      this.logger.warn(
        `URL list "${this.spec.name}": download rejected, only ${usable} of ${total} lines are domains ` +
          `(minimum ${this.options.urlMinValidPercent} %); keeping the last good copy`,
        { url: this.spec.url },
      );
      return 'rejected';
    }
    const files = this.state.urlCopyFiles(this.spec.name);
    await writeFileAtomic(files.body, body);
    await writeFileAtomic(files.meta, `${JSON.stringify(meta)}\n`);
    this.meta = meta;
    if (registry) {
      const { result: taken, generation } = await registry.update((records, nextGeneration) => {
        const existing = records.get(this.spec.name);
        // A file or API list of the same name came first: the URL must not silently replace it.
        if (existing !== undefined && existing.source !== 'url') return existing;
        records.set(this.spec.name, this.record(list, Date.now(), nextGeneration));
        return undefined;
      });
      if (taken !== undefined) {
        this.logger.warn(
          `URL list "${this.spec.name}" not applied: a list of that name comes from ${taken.source} (${taken.origin}); rename one of them`,
        );
        return 'rejected';
      }
      this.logger.info(`URL list "${this.spec.name}" updated`, { entries: usable, skipped: list.skipped.length, generation });
      const suffixes = publicSuffixWarning(`URL list "${this.spec.name}"`, list);
      if (suffixes !== undefined) this.logger.warn(suffixes, { url: this.spec.url });
    }
    return 'updated';
  }

  private async readLimited(response: Response): Promise<Buffer> {
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.length;
      if (size > this.options.maxBytes) throw new Error(`body larger than ${this.options.maxBytes} bytes`);
      chunks.push(chunk);
    }
    return Buffer.concat(chunks, size);
  }

  private parse(text: Uint8Array): ParsedList {
    const options = { name: this.spec.name, kind: this.spec.kind, category: this.spec.category };
    return this.spec.format === 'rpz' ? parseRpz(text, options) : parseList(text, options);
  }

  private record(list: ParsedList, updatedAt: number, generation: number): ListRecord {
    return { list, source: 'url', origin: this.spec.url, updatedAt, generation };
  }
}
