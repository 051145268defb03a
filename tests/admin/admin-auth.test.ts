/**
 * AdminAuth: bearer-token check (missing → 401, wrong → 403, disabled → writes 403), the label used
 * in audit lines (a fingerprint, never the token), and the per-address limit on failed attempts that
 * never locks out the right token.
 */
import { createHash } from 'node:crypto';
import type http from 'node:http';
import { describe, expect, it } from 'vitest';
import { AdminAuth, type AuthFailure } from '../../src/admin/admin-auth.js';
import { HttpError } from '../../src/admin/http-server.js';

const TOKEN = 's3cret-token-0123456789';

function req(authorization?: string, address = '127.0.0.1'): http.IncomingMessage {
  const headers: http.IncomingHttpHeaders = authorization === undefined ? {} : { authorization };
  return { headers, socket: { remoteAddress: address } } as unknown as http.IncomingMessage;
}

function makeAuth(token: string | undefined, maxFailures = 3, windowMs = 60_000): { auth: AdminAuth; failures: AuthFailure[] } {
  const failures: AuthFailure[] = [];
  return { auth: new AdminAuth(token, { maxFailures, windowMs, onFailure: (reason) => failures.push(reason) }), failures };
}

/** The HttpError authorize throws (fails the test if it returns). */
function refusal(auth: AdminAuth, request: http.IncomingMessage, write = true): HttpError {
  try {
    auth.authorize(request, write);
  } catch (error) {
    expect(error).toBeInstanceOf(HttpError);
    return error as HttpError;
  }
  throw new Error('authorize accepted the request');
}

describe('AdminAuth without a token (writes disabled)', () => {
  it('lets reads through as "anonymous" and refuses writes with 403 E_ADMIN_DISABLED', () => {
    const { auth, failures } = makeAuth(undefined);
    expect(auth.enabled).toBe(false);
    expect(auth.label).toBe('none');
    expect(auth.authorize(req(), false)).toBe('anonymous');
    expect(auth.authorize(req('Bearer anything'), false)).toBe('anonymous');
    const error = refusal(auth, req(`Bearer ${TOKEN}`));
    expect(error).toMatchObject({ status: 403, code: 'E_ADMIN_DISABLED' });
    expect(error.message).toMatch(/FRAUDWALL_ADMIN_TOKEN/);
    expect(failures).toEqual(['disabled']);
  });

  it('refusing disabled writes is never rate limited into a 429', () => {
    const { auth } = makeAuth(undefined, 1);
    for (let i = 0; i < 5; i++) expect(refusal(auth, req()).status).toBe(403);
  });
});

describe('AdminAuth with a token', () => {
  it('accepts the right token for reads and writes and answers with a fingerprint label, not the token', () => {
    const { auth, failures } = makeAuth(TOKEN);
    const fingerprint = createHash('sha256').update(TOKEN).digest('hex').slice(0, 8);
    expect(auth.enabled).toBe(true);
    expect(auth.label).toBe(`token:${fingerprint}`);
    expect(auth.label).not.toContain(TOKEN.slice(0, 6));
    expect(auth.authorize(req(`Bearer ${TOKEN}`), true)).toBe(auth.label);
    expect(auth.authorize(req(`Bearer ${TOKEN}`), false)).toBe(auth.label);
    expect(failures).toEqual([]);
  });

  it('two tokens get two labels', () => {
    expect(makeAuth('token-a').auth.label).not.toBe(makeAuth('token-b').auth.label);
  });

  it.each([`Bearer ${TOKEN}`, `bearer ${TOKEN}`, `BEARER ${TOKEN}`, `Bearer   ${TOKEN}`, `Bearer ${TOKEN}  `, `Bearer\t${TOKEN}`])(
    'accepts the header %j',
    (header) => {
      expect(makeAuth(TOKEN).auth.authorize(req(header), true)).toMatch(/^token:/);
    },
  );

  it.each([
    ['no header', undefined],
    ['an empty header', ''],
    ['the scheme alone', 'Bearer'],
    ['another scheme', `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`],
    ['the bare token', TOKEN],
    ['two words after Bearer', `Bearer ${TOKEN} extra`],
  ])('%s is a missing token: 401 E_AUTH_MISSING with a WWW-Authenticate challenge', (_label, header) => {
    const { auth, failures } = makeAuth(TOKEN);
    const error = refusal(auth, req(header), false);
    expect(error).toMatchObject({ status: 401, code: 'E_AUTH_MISSING', headers: { 'www-authenticate': 'Bearer realm="fraudwall"' } });
    expect(failures).toEqual(['missing']);
  });

  it.each([
    ['another token', 'wrong-token'],
    ['a prefix of the token', TOKEN.slice(0, -1)],
    ['the token with one more character', `${TOKEN}x`],
    ['the token in another case', TOKEN.toUpperCase()],
  ])('%s is a wrong token: 403 E_AUTH_WRONG, for reads and writes', (_label, token) => {
    const { auth, failures } = makeAuth(TOKEN, 100);
    expect(refusal(auth, req(`Bearer ${token}`), false)).toMatchObject({ status: 403, code: 'E_AUTH_WRONG' });
    expect(refusal(auth, req(`Bearer ${token}`), true)).toMatchObject({ status: 403, code: 'E_AUTH_WRONG' });
    expect(failures).toEqual(['wrong', 'wrong']);
  });

  it('the message of a refusal never echoes the token that was sent', () => {
    const { auth } = makeAuth(TOKEN);
    const sent = 'attacker-supplied-guess-123';
    const error = refusal(auth, req(`Bearer ${sent}`));
    expect(error.message).not.toContain(sent);
    expect(JSON.stringify([error.details, error.headers])).not.toContain(sent);
  });
});

describe('AdminAuth failure limit', () => {
  it('after maxFailures failures an address gets 429 E_AUTH_RATE_LIMITED with Retry-After, whatever it sends but the right token', () => {
    const { auth, failures } = makeAuth(TOKEN, 3, 90_500);
    expect(refusal(auth, req('Bearer bad')).status).toBe(403);
    expect(refusal(auth, req()).status).toBe(401);
    expect(refusal(auth, req('Bearer bad')).status).toBe(403);
    for (const header of ['Bearer bad', undefined, 'Bearer other']) {
      expect(refusal(auth, req(header))).toMatchObject({ status: 429, code: 'E_AUTH_RATE_LIMITED', headers: { 'retry-after': '91' } });
    }
    expect(failures).toEqual(['wrong', 'missing', 'wrong', 'rate-limited', 'rate-limited', 'rate-limited']);
    // The right token always works: every local client shares 127.0.0.1.
    expect(auth.authorize(req(`Bearer ${TOKEN}`), true)).toBe(auth.label);
  });

  it('counts per client address', () => {
    const { auth } = makeAuth(TOKEN, 2);
    for (let i = 0; i < 2; i++) refusal(auth, req('Bearer bad', '192.0.2.1'));
    expect(refusal(auth, req('Bearer bad', '192.0.2.1')).status).toBe(429);
    expect(refusal(auth, req('Bearer bad', '192.0.2.2')).status).toBe(403);
    expect(refusal(auth, req('Bearer bad', '::1')).status).toBe(403);
  });

  it('successes do not reset the count (a guesser cannot interleave a known-good request)', () => {
    const { auth } = makeAuth(TOKEN, 2);
    refusal(auth, req('Bearer bad'));
    auth.authorize(req(`Bearer ${TOKEN}`), true);
    refusal(auth, req('Bearer bad'));
    expect(refusal(auth, req('Bearer bad')).status).toBe(429);
  });

  it('the limit lifts once the window has passed', async () => {
    const { auth } = makeAuth(TOKEN, 1, 100);
    refusal(auth, req('Bearer bad'));
    expect(refusal(auth, req('Bearer bad')).status).toBe(429);
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(refusal(auth, req('Bearer bad')).status).toBe(403);
    expect(refusal(auth, req('Bearer bad')).status).toBe(429);
  });

  it('a request whose socket has no address is counted under one shared key, not let through', () => {
    const { auth } = makeAuth(TOKEN, 1);
    const anonymous = { headers: { authorization: 'Bearer bad' }, socket: {} } as unknown as http.IncomingMessage;
    expect(refusal(auth, anonymous).status).toBe(403);
    expect(refusal(auth, anonymous).status).toBe(429);
  });
});

describe('AdminAuth.replaceToken (SIGHUP re-read the token file)', () => {
  it('the new token works at once, the old one is refused, and the audit label follows; it says whether the token changed', () => {
    const { auth } = makeAuth('old-token-0123456789');
    const oldLabel = auth.label;
    expect(auth.replaceToken('old-token-0123456789')).toBe(false);
    expect(auth.replaceToken('new-token-9876543210')).toBe(true);
    expect(auth.authorize(req('Bearer new-token-9876543210'), true)).toBe(auth.label);
    expect(auth.label).not.toBe(oldLabel);
    expect(refusal(auth, req('Bearer old-token-0123456789')).code).toBe('E_AUTH_WRONG');
  });

  it('cannot turn list changes on: a server started without a token stays read-only', () => {
    const { auth } = makeAuth(undefined);
    expect(() => auth.replaceToken('some-token-0123456789')).toThrow('list changes are disabled');
    expect(auth.enabled).toBe(false);
  });
});
