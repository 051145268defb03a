import { describe, expect, it } from 'vitest';
import { parseEventsUrl } from '../../src/events/events-url.js';
import { classifyResult } from '../../src/events/http-post.js';

describe('parseEventsUrl', () => {
  it.each(['https://alerts.example.org/hook', 'http://127.0.0.1:8080/x', 'http://[::1]/x', 'http://10.1.2.3/x', 'http://192.168.0.9/x', 'http://localhost:9/x'])(
    'accepts %s',
    (url) => {
      expect(parseEventsUrl(url, false).href).toBe(new URL(url).href);
    },
  );

  it.each([
    ['http://203.0.113.5/x', /plain http/],
    ['http://alerts.example.org/x', /plain http/],
    ['ftp://127.0.0.1/x', /https:\/\/ or http:\/\//],
    ['not a url', /not a URL/],
    ['https://user:pw@alerts.example.org/x', /user or password/],
  ])('refuses %s', (url, why) => {
    expect(() => parseEventsUrl(url, false)).toThrow(why);
  });

  it('--events-allow-insecure lets plain http to a public host through', () => {
    expect(parseEventsUrl('http://alerts.example.org/x', true).protocol).toBe('http:');
  });
});

describe('classifyResult', () => {
  it.each([
    [{ status: 200 }, 'delivered'],
    [{ status: 204 }, 'delivered'],
    [{ status: 500 }, 'retry'],
    [{ status: 503 }, 'retry'],
    [{ status: 408 }, 'retry'],
    [{ status: 429 }, 'retry'],
    [{ error: 'timeout' }, 'retry'],
    [{ error: 'ECONNREFUSED' }, 'retry'],
    [{ status: 413 }, 'split'],
    [{ status: 401 }, 'unauthorized'],
    [{ status: 403 }, 'unauthorized'],
    [{ status: 410 }, 'gone'],
    [{ status: 400 }, 'rejected'],
    [{ status: 404 }, 'rejected'],
    [{ status: 302 }, 'rejected'],
  ] as const)('%j → %s', (result, outcome) => {
    expect(classifyResult(result)).toBe(outcome);
  });
});
