import { describe, expect, it } from 'vitest';
import { describeLookalike, distanceBound, LookalikeIndex } from '../../src/lookalike/lookalike-index.js';
import { protectedDomainOf, type ProtectedDomain } from '../../src/lookalike/protected-domain.js';

function indexOf(domains: readonly string[], category = 'payment'): LookalikeIndex {
  return new LookalikeIndex(
    domains.map((domain) => {
      const entry = protectedDomainOf(domain, 'brands', category);
      if ('error' in entry) throw new Error(entry.error);
      return entry as ProtectedDomain;
    }),
  );
}

const index = indexOf(['paypal.com', 'amazon.com', 'icbc.com.cn', 'alipay.com', 'wellsfargo.com', 'visa.com', 'github.com', 'bankofamerica.com']);
const OFF = { protectTldSwaps: false };
const ON = { protectTldSwaps: true };
const judge = (name: string, options = OFF) => index.judge(name, options);

describe('homoglyph test (IDN decoded, TR39 skeletons)', () => {
  it('flags a mixed-script IDN that arrives as punycode on the wire', () => {
    const finding = judge('xn--pypal-4ve.com'); // pаypal.com with a Cyrillic а
    expect(finding).toMatchObject({ test: 'homoglyph', protectedDomain: 'paypal.com', category: 'payment', list: 'brands', registrableDomain: 'xn--pypal-4ve.com' });
    expect(judge('xn--lipay-3ve.com')).toMatchObject({ test: 'homoglyph', protectedDomain: 'alipay.com' });
  });

  it('flags an IDN homoglyph of a short label, which the distance test never judges', () => {
    const vіsa = new URL('http://vіsa.com').hostname; // Cyrillic і
    expect(vіsa.startsWith('xn--')).toBe(true);
    expect(judge(vіsa)).toMatchObject({ test: 'homoglyph', protectedDomain: 'visa.com' });
  });

  it('flags ASCII lookalikes beyond one edit (rn for m)', () => {
    expect(judge('arnazon.com')).toMatchObject({ test: 'homoglyph', protectedDomain: 'amazon.com' });
  });

  it('flags an IDN homoglyph with one more edit through the skeleton distance', () => {
    const name = new URL('http://pаypall.com').hostname;
    expect(judge(name)).toMatchObject({ protectedDomain: 'paypal.com' });
  });
});

describe('edit-distance test', () => {
  it('flags one edit of a 5-8 letter label, a transposition counting one', () => {
    expect(judge('paypa1.com')).toMatchObject({ test: 'edit-distance', distance: 1, protectedDomain: 'paypal.com' });
    expect(judge('paypla.com')).toMatchObject({ test: 'edit-distance', distance: 1 });
    expect(judge('paypall.net')).toMatchObject({ test: 'edit-distance', distance: 1 });
    expect(judge('pyapla.com')).toBeUndefined(); // two edits of a 6-letter label
  });

  it('allows two edits from 9 letters on', () => {
    expect(distanceBound(9)).toBe(2);
    expect(judge('welsfarg.com')).toMatchObject({ test: 'edit-distance', distance: 2, protectedDomain: 'wellsfargo.com' });
    expect(judge('wellsfargoo.com')).toMatchObject({ distance: 1 });
    expect(judge('welsfarggo.com')).toMatchObject({ distance: 2 });
  });

  it('never compares labels under 5 letters by distance', () => {
    expect(distanceBound(4)).toBe(0);
    expect(judge('vlsa.com')).toBeUndefined();
    expect(judge('icbd.com')).toBeUndefined();
  });

  it('describes the finding as the EDE text says it', () => {
    expect(describeLookalike(judge('paypa1.com')!)).toBe('lookalike of paypal.com (edit distance 1)');
    expect(describeLookalike(judge('xn--pypal-4ve.com')!)).toBe('lookalike of paypal.com (homoglyph)');
  });
});

describe('token test', () => {
  it('finds the protected label as a whole token between hyphens and dots', () => {
    expect(judge('paypal-secure.com')).toMatchObject({ test: 'token', token: 'paypal', registrableDomain: 'paypal-secure.com' });
    expect(judge('login.paypal.com.verify-id.top')).toMatchObject({ test: 'token', protectedDomain: 'paypal.com', registrableDomain: 'verify-id.top' });
    expect(judge('icbc-vip.top')).toMatchObject({ test: 'token', protectedDomain: 'icbc.com.cn' });
    expect(describeLookalike(judge('icbc-vip.top')!)).toBe('lookalike of icbc.com.cn (contains "icbc")');
  });

  it('finds a token that is itself a homoglyph (a punycode subdomain label)', () => {
    expect(judge('xn--pypal-4ve.login-help.top')).toMatchObject({ test: 'token', protectedDomain: 'paypal.com' });
  });

  it('finds the label spelled across the dot before the registrable label', () => {
    expect(judge('pay.pal.com')).toMatchObject({ test: 'token', protectedDomain: 'paypal.com', token: 'pay.pal' });
  });

  it('does not take part of a word for a token', () => {
    expect(judge('paypalooza.com')).toBeUndefined();
    expect(judge('mypaypalshop.com')).toBeUndefined();
  });
});

describe('TLD-swap test', () => {
  it('is off by default: the same label under another suffix is left alone', () => {
    expect(judge('icbc.top')).toBeUndefined();
    expect(judge('paypal.com.co')).toBeUndefined();
  });

  it('flags it with --protect-tld-swaps', () => {
    expect(judge('icbc.top', ON)).toMatchObject({ test: 'tld-swap', protectedDomain: 'icbc.com.cn' });
    expect(judge('www.paypal.com.co', ON)).toMatchObject({ test: 'tld-swap', registrableDomain: 'paypal.com.co' });
  });

  it('judges a name whose label equals a protected label by the TLD-swap test alone', () => {
    expect(judge('amazon.co.uk')).toBeUndefined();
    expect(judge('amazon-login.amazon.co.uk')).toBeUndefined(); // no token test either
    expect(judge('amazon.co.uk', ON)).toMatchObject({ test: 'tld-swap', protectedDomain: 'amazon.com' });
  });
});

describe('edge cases', () => {
  it('leaves a protected domain and its subdomains alone', () => {
    for (const name of ['paypal.com', 'www.paypal.com', 'a.b.paypal.com', 'icbc.com.cn', 'mail.icbc.com.cn']) expect(judge(name, ON), name).toBeUndefined();
  });

  it('judges the label under a private suffix (github.io), not the platform', () => {
    expect(judge('paypa1.github.io')).toMatchObject({ test: 'edit-distance', registrableDomain: 'paypa1.github.io' });
    expect(judge('someone.github.io')).toBeUndefined(); // not a lookalike of github.com: github.io is the suffix
    expect(judge('paypal.github.io')).toBeUndefined(); // same label, other suffix: TLD swap only
    expect(judge('paypal.github.io', ON)).toMatchObject({ test: 'tld-swap' });
    expect(judge('github.io', ON)).toBeUndefined(); // a public suffix has no registrable domain
  });

  it('skips names without a registrable domain and reverse names', () => {
    for (const name of ['localhost', 'com', '1.0.0.127.in-addr.arpa', 'paypal']) expect(judge(name, ON), name).toBeUndefined();
  });

  it('leaves unrelated names alone', () => {
    for (const name of ['example.com', 'www.wikipedia.org', 'bbc.co.uk', 'xn--mller-kva.de']) expect(judge(name, ON), name).toBeUndefined();
  });
});

describe('protectedDomainOf', () => {
  it('accepts registrable domains under ICANN and private suffixes', () => {
    expect(protectedDomainOf('icbc.com.cn', 'l', 'bank')).toMatchObject({ domain: 'icbc.com.cn', label: 'icbc', suffix: 'com.cn' });
    expect(protectedDomainOf('mybank.github.io', 'l', 'bank')).toMatchObject({ label: 'mybank', suffix: 'github.io' });
  });

  it('refuses suffixes and subdomains, saying what to protect instead', () => {
    expect(protectedDomainOf('com', 'l', 'c')).toEqual({ error: expect.stringContaining('public suffix') });
    expect(protectedDomainOf('github.io', 'l', 'c')).toEqual({ error: expect.stringContaining('public suffix') });
    expect(protectedDomainOf('www.paypal.com', 'l', 'c')).toEqual({ error: expect.stringContaining('protect "paypal.com"') });
  });
});

describe('hostile names', () => {
  it('never throws, whatever the wire name holds', () => {
    let seed = 42;
    const random = (n: number): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
    const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789-_.\\ \u0000\u00ff';
    const names = ['', '.', '..', 'xn--', 'xn--.com', 'xn--zzzzzzzz-.com', `${'a'.repeat(63)}.com`, `${'xn--'.repeat(16)}.com`, 'a..b.com', '-paypal-.com'];
    for (let n = 0; n < 20_000; n++) {
      const length = 1 + random(80);
      let name = '';
      for (let i = 0; i < length; i++) name += alphabet[random(alphabet.length)];
      names.push(random(4) === 0 ? `xn--${name}.com` : name);
    }
    for (const name of names) expect(() => judge(name, ON), JSON.stringify(name)).not.toThrow();
  });
});

describe('embedded test (--protect-embedded: a protected label of 7+ letters inside a longer one)', () => {
  const crypto = indexOf(['binance.com', 'coinbase.com', 'metamask.io', 'paypal.com', 'bankofamerica.com'], 'crypto');
  const EMBEDDED = { protectTldSwaps: false, protectEmbedded: true };

  it('flags real phishing shapes from MetaMask\'s list that no other test catches', () => {
    for (const name of ['binancebonus.net', '5000coinbase.com', 'astallmetamask.com', 'login.bankofamericasecure.top']) {
      expect(crypto.judge(name, OFF), name).toBeUndefined();
      expect(crypto.judge(name, EMBEDDED), name).toMatchObject({ test: 'embedded', category: 'crypto' });
    }
    const finding = crypto.judge('binance2021.com', EMBEDDED)!;
    expect(finding).toMatchObject({ test: 'embedded', protectedDomain: 'binance.com', registrableDomain: 'binance2021.com', token: 'binance' });
    expect(describeLookalike(finding)).toBe('lookalike of binance.com ("binance" inside a longer word)');
  });

  it('leaves labels under 7 letters to the other tests, and the protected domains and their subdomains alone', () => {
    expect(crypto.judge('paypallogin.com', EMBEDDED)).toBeUndefined();
    // amazon is 6 letters, though its skeleton (arnazon) is 7.
    expect(indexOf(['amazon.com']).judge('amazonaws.com', EMBEDDED)).toBeUndefined();
    expect(crypto.judge('www.binance.com', EMBEDDED)).toBeUndefined();
    expect(crypto.judge('binance.com', EMBEDDED)).toBeUndefined();
    expect(crypto.judge('example.com', EMBEDDED)).toBeUndefined();
  });

  it('compares skeletons, so a homoglyph inside the longer word is found too', () => {
    // rn reads as m: the skeleton of "rnetarnaskwallet" is "metamaskwallet".
    expect(crypto.judge('rnetarnaskwallet.io', OFF)).toBeUndefined();
    expect(crypto.judge('rnetarnaskwallet.io', EMBEDDED)).toMatchObject({ test: 'embedded', protectedDomain: 'metamask.io' });
  });

  it('runs after the token test: a hyphenated token stays a token finding', () => {
    expect(crypto.judge('binance-bonus.net', EMBEDDED)).toMatchObject({ test: 'token' });
  });
});
