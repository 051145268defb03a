import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadPageTexts, PageTemplateError, textsFromTemplate } from '../../src/warning-page/page-template.js';
import { BUILT_IN_TEXTS } from '../../src/warning-page/page-texts.js';

const dir = mkdtempSync(path.join(tmpdir(), 'fraudwall-template-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function problemsOf(data: unknown): string {
  try {
    textsFromTemplate('t.yaml', data);
  } catch (error) {
    expect(error).toBeInstanceOf(PageTemplateError);
    expect((error as PageTemplateError).code).toBe('E_WARNING_PAGE_TEMPLATE');
    return (error as Error).message;
  }
  throw new Error('expected a PageTemplateError');
}

describe('warning page template', () => {
  it('"off" keeps the built-in texts', async () => {
    expect(await loadPageTexts('off')).toBe(BUILT_IN_TEXTS);
  });

  it('replaces the given texts, keeps the rest, and adds categories to the built-in ones', async () => {
    const file = path.join(dir, 'page.yaml');
    writeFileSync(
      file,
      ['en:', '  heading: "Blocked by {operator}"', '  steps: ["Hang up.", "Call {hotline}."]', '  categories:', '    fake-shop: "a fake shop"', 'zh:', '  heading: 已拦截', ''].join('\n'),
    );
    const texts = await loadPageTexts(file);
    expect(texts.en.heading).toBe('Blocked by {operator}');
    expect(texts.en.steps).toEqual(['Hang up.', 'Call {hotline}.']);
    expect(texts.en.categories['fake-shop']).toBe('a fake shop');
    expect(texts.en.categories['phishing']).toBe(BUILT_IN_TEXTS.en.categories['phishing']);
    expect(texts.en.title).toBe(BUILT_IN_TEXTS.en.title);
    expect(texts.zh.heading).toBe('已拦截');
  });

  it('reads JSON too', async () => {
    const file = path.join(dir, 'page.json');
    writeFileSync(file, JSON.stringify({ zh: { reportText: '请致电 {hotline}' } }));
    expect((await loadPageTexts(file)).zh.reportText).toBe('请致电 {hotline}');
  });

  it('lists every problem: unknown language, key, placeholder, bad types', () => {
    const message = problemsOf({ fr: {}, en: { heding: 'x', title: 'Hi {user}', steps: [], categories: { a: 3 }, htmlLang: 'en"><script>' } });
    expect(message).toContain('fr: unknown language');
    expect(message).toContain('en.heding: unknown key');
    expect(message).toContain('en.title: unknown placeholder {user}');
    expect(message).toContain('en.steps: must be a list of 1 to 12 texts');
    expect(message).toContain('en.categories.a: must be text');
    expect(message).toContain('en.htmlLang: must be a language tag');
    expect(message).toMatch(/has 6 problems/);
  });

  it('a missing or malformed file is an E_WARNING_PAGE_TEMPLATE error naming the file', async () => {
    await expect(loadPageTexts(path.join(dir, 'missing.yaml'))).rejects.toThrow(/missing\.yaml has 1 problem:\n {2}- cannot be read \(ENOENT\)/);
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(bad, 'en: [unclosed');
    await expect(loadPageTexts(bad)).rejects.toMatchObject({ code: 'E_WARNING_PAGE_TEMPLATE' });
  });
});
