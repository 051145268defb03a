// --redis-share-url-lists: one instance of the fleet downloads each URL list and publishes it in
// Redis; the others take it from there. Who downloads is a Redis lease (SET NX PX, renewed by its
// holder at each refresh), so a crashed downloader is replaced when its lease runs out.
import type { SharedUrlCopy, UrlListShare } from '../lists/url-list.js';
import { fieldsOf, keyBase, RECORD_FORMAT, type RedisCommands } from './redis-list-store.js';

/** Takes the lease if free, renews it if ours; 1 when we hold it afterwards. */
const CLAIM = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`;

export class RedisUrlListShare implements UrlListShare {
  private readonly base: string;

  constructor(
    private readonly redis: RedisCommands,
    prefix: string,
    private readonly instanceId: string,
    private readonly connected: () => boolean,
  ) {
    this.base = keyBase(prefix);
  }

  async role(name: string, leaseMs: number): Promise<'download' | 'adopt' | 'self'> {
    if (!this.connected()) return 'self';
    const held = await this.redis.sendCommand(['EVAL', CLAIM, '1', `${this.base}lease:url:${name}`, this.instanceId, String(leaseMs)]);
    return Number(held) === 1 ? 'download' : 'adopt';
  }

  async publish(name: string, copy: SharedUrlCopy): Promise<void> {
    const fields = ['format', String(RECORD_FORMAT), 'url', copy.url, 'sha256', copy.sha256, 'fetchedAt', copy.fetchedAt, 'etag', copy.etag ?? '', 'lastModified', copy.lastModified ?? ''];
    // Buffer argument: the body goes to Redis as bytes, not re-encoded.
    await (this.redis.sendCommand as (args: (string | Buffer)[]) => Promise<unknown>)(['HSET', `${this.base}url:${name}`, ...fields, 'body', copy.body]);
  }

  async read(name: string): Promise<SharedUrlCopy | undefined> {
    if (!this.connected()) return undefined;
    const reply = await this.redis.sendCommand(['HGETALL', `${this.base}url:${name}`]);
    const hash = fieldsOf(reply);
    if (hash['url'] === undefined || hash['body'] === undefined || Number(hash['format']) > RECORD_FORMAT) return undefined;
    return {
      url: hash['url'],
      body: Buffer.from(hash['body'], 'utf8'),
      sha256: hash['sha256'] ?? '',
      etag: hash['etag'] || undefined,
      lastModified: hash['lastModified'] || undefined,
      fetchedAt: hash['fetchedAt'] ?? new Date().toISOString(),
    };
  }
}
