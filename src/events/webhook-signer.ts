import { createHmac } from 'node:crypto';
import { FraudwallError } from '../errors.js';

const PREFIX = 'whsec_';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Reads Standard Webhooks secrets: one per line (several lines = rotation: every one signs, so the
 * receiver can switch keys without losing a message), each `whsec_` + base64 of at least 16 bytes.
 * Blank lines and the trailing newline are ignored. The secret itself never appears in a message.
 */
export function parseWebhookSecrets(text: string, source: string): Buffer[] {
  const keys: Buffer[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === '') return;
    const encoded = line.startsWith(PREFIX) ? line.slice(PREFIX.length) : undefined;
    const key = encoded !== undefined && BASE64.test(encoded) ? Buffer.from(encoded, 'base64') : undefined;
    if (key === undefined || key.length < 16) {
      throw new FraudwallError(
        'E_EVENTS_SECRET',
        `${source} line ${index + 1}: not a Standard Webhooks secret (whsec_ followed by base64 of 16 to 64 random bytes); ` +
          'make one with: echo "whsec_$(openssl rand -base64 32)"',
      );
    }
    keys.push(key);
  });
  if (keys.length === 0) {
    throw new FraudwallError('E_EVENTS_SECRET', `${source} holds no secret; make one with: echo "whsec_$(openssl rand -base64 32)"`);
  }
  return keys;
}

/** The three Standard Webhooks headers for one delivery attempt (signed afresh each time). */
export interface WebhookHeaders {
  readonly 'webhook-id': string;
  readonly 'webhook-timestamp': string;
  readonly 'webhook-signature': string;
}

export class WebhookSigner {
  constructor(private readonly keys: readonly Buffer[]) {}

  /** Signs `${id}.${timestamp}.${body}` with every key: `v1,<base64 HMAC-SHA256>` separated by spaces. */
  headers(id: string, body: string | Buffer, now: number): WebhookHeaders {
    const timestamp = String(Math.floor(now / 1000));
    const signatures = this.keys.map((key) => {
      const hmac = createHmac('sha256', key);
      hmac.update(`${id}.${timestamp}.`);
      hmac.update(body);
      return `v1,${hmac.digest('base64')}`;
    });
    return { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signatures.join(' ') };
  }
}
