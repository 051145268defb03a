import { describe, expect, it } from 'vitest';
import { decodeLabel, isNonAscii, skeleton } from '../../src/lookalike/skeleton.js';

describe('skeleton (TR39 confusables, lower-cased, marks dropped)', () => {
  it('maps a Cyrillic letter in a Latin word to its Latin twin', () => {
    expect(skeleton('pаypal')).toBe(skeleton('paypal')); // U+0430
    expect(skeleton('аlipay')).toBe(skeleton('alipay'));
  });

  it('maps ASCII lookalikes: 1 and l, 0 and o, rn and m', () => {
    expect(skeleton('paypa1')).toBe(skeleton('paypal'));
    expect(skeleton('g00gle')).toBe(skeleton('google'));
    expect(skeleton('arnazon')).toBe(skeleton('amazon'));
  });

  it('drops accents, which readers do not see in a URL bar', () => {
    expect(skeleton('pаypál')).toBe(skeleton('paypal'));
    expect(skeleton('çhase')).toBe(skeleton('chase'));
  });

  it('keeps different words apart', () => {
    expect(skeleton('paypal')).not.toBe(skeleton('paypel'));
    expect(skeleton('chase')).not.toBe(skeleton('chose'));
  });
});

describe('decodeLabel (UTS #46 via tr46)', () => {
  it('decodes punycode labels', () => {
    expect(decodeLabel('xn--pypal-4ve')).toBe('pаypal');
    expect(isNonAscii(decodeLabel('xn--pypal-4ve'))).toBe(true);
  });

  it('leaves ASCII labels and undecodable xn-- labels as they are', () => {
    expect(decodeLabel('paypal')).toBe('paypal');
    expect(decodeLabel('xn--zz')).toBe('xn--zz');
    expect(isNonAscii('paypal')).toBe(false);
  });
});
