import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { parseWebhookSecrets, WebhookSigner } from '../../src/events/webhook-signer.js';

const secretA = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const secretB = `whsec_${Buffer.alloc(24, 9).toString('base64')}`;

describe('parseWebhookSecrets', () => {
  it('reads one secret per line, ignoring blank lines and the trailing newline', () => {
    const keys = parseWebhookSecrets(`${secretA}\n\n${secretB}\r\n`, 'file');
    expect(keys.map((key) => key.length)).toEqual([32, 24]);
  });

  it.each([
    ['no prefix', Buffer.alloc(32).toString('base64')],
    ['not base64', 'whsec_***notbase64***'],
    ['too short', `whsec_${Buffer.alloc(8).toString('base64')}`],
  ])('refuses a line with %s, naming the line and how to make a good one', (_what, line) => {
    expect(() => parseWebhookSecrets(`${secretA}\n${line}\n`, 'secret.txt')).toThrow(/secret\.txt line 2: .*openssl rand/);
  });

  it('refuses an empty file', () => {
    expect(() => parseWebhookSecrets('\n\n', 'secret.txt')).toThrow(/holds no secret/);
  });

  it('never puts the secret into the message', () => {
    try {
      parseWebhookSecrets('whsec_c2VjcmV0', 'f');
    } catch (error) {
      expect((error as Error).message).not.toContain('c2VjcmV0');
    }
  });
});

describe('WebhookSigner (checked by the standardwebhooks package)', () => {
  const body = '[{"specversion":"1.0","id":"x"}]';

  it('signs id.timestamp.body so that the reference implementation verifies it', () => {
    const headers = new WebhookSigner(parseWebhookSecrets(secretA, 's')).headers('msg_1', body, Date.now());
    expect(new Webhook(secretA).verify(body, { ...headers })).toEqual(JSON.parse(body));
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
  });

  it('with two secrets every request verifies under either (rotation)', () => {
    const headers = new WebhookSigner(parseWebhookSecrets(`${secretA}\n${secretB}`, 's')).headers('msg_2', body, Date.now());
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(() => new Webhook(secretA).verify(body, { ...headers })).not.toThrow();
    expect(() => new Webhook(secretB).verify(body, { ...headers })).not.toThrow();
  });

  it('a changed body, id or another secret fails verification', () => {
    const headers = new WebhookSigner(parseWebhookSecrets(secretA, 's')).headers('msg_3', body, Date.now());
    expect(() => new Webhook(secretA).verify(`${body} `, { ...headers })).toThrow();
    expect(() => new Webhook(secretA).verify(body, { ...headers, 'webhook-id': 'msg_4' })).toThrow();
    expect(() => new Webhook(secretB).verify(body, { ...headers })).toThrow();
  });

  it('stamps the attempt time in seconds; an old attempt is rejected by the receiver', () => {
    const old = Date.now() - 10 * 60_000;
    const headers = new WebhookSigner(parseWebhookSecrets(secretA, 's')).headers('msg_5', body, old);
    expect(headers['webhook-timestamp']).toBe(String(Math.floor(old / 1000)));
    expect(() => new Webhook(secretA).verify(body, { ...headers })).toThrow(/timestamp/i);
  });
});
