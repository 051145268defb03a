import { describe, expect, it } from 'vitest';
import { pickLanguage } from '../../src/warning-page/accept-language.js';

describe('pickLanguage', () => {
  it.each([
    [undefined, 'en'],
    ['', 'en'],
    ['zh-CN', 'zh'],
    ['zh-CN,zh;q=0.9,en;q=0.8', 'zh'],
    ['en-US,en;q=0.9,zh-CN;q=0.8', 'en'],
    ['fr-FR,zh;q=0.5', 'zh'],
    ['fr-FR,de;q=0.9', 'en'],
    ['zh-TW', 'zh'],
    ['ZH-hans-CN', 'zh'],
    ['en;q=0.2, zh;q=0.7', 'zh'],
    ['zh;q=0, en', 'en'],
    ['zh;q=abc', 'en'],
    ['zh;q=2', 'en'],
    [`${'x,'.repeat(10_000)}zh`, 'en'],
  ])('%j → %s', (header, expected) => {
    expect(pickLanguage(header)).toBe(expected);
  });
});
