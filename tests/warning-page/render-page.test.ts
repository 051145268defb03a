import { describe, expect, it } from 'vitest';
import { BUILT_IN_TEXTS, categoryKey } from '../../src/warning-page/page-texts.js';
import { escapeHtml, renderPage } from '../../src/warning-page/render-page.js';

const site = { name: 'login.evil.test', list: 'fraud', category: 'fake-loan' };

describe('renderPage', () => {
  it('names the blocked site, its list and what the category means, and the hotline as a tel: link', () => {
    const html = renderPage(BUILT_IN_TEXTS.en, { blocked: site, hotline: 'tel:96110', operator: 'Example ISP' });
    expect(html).toContain('<strong class="name">login.evil.test</strong>');
    expect(html).toContain('<span class="list">fraud</span>');
    expect(html).toContain('a fake loan: it promises quick money');
    expect(html).toContain('<a class="hotline-number" href="tel:96110">96110</a>');
    expect(html).toContain('<span class="operator">Example ISP</span>');
    expect(html).toContain('<html lang="en">');
  });

  it('the generic page names no site and shows no list line', () => {
    const html = renderPage(BUILT_IN_TEXTS.en, { blocked: undefined, hotline: '', operator: '' });
    expect(html).not.toContain('class="name"');
    expect(html).not.toContain('class="reason"');
    expect(html).not.toContain('class="hotline"');
    expect(html).toContain(BUILT_IN_TEXTS.en.genericIntro);
  });

  it('is self-contained: no script, no external resource, no form', () => {
    const html = renderPage(BUILT_IN_TEXTS.zh, { blocked: site, hotline: 'https://report.example/x', operator: 'O' });
    expect(html).not.toMatch(/<script|<img|<iframe|<form|<object|<embed|@import|url\(|src=/i);
    // The only links: the hotline (a navigation the person chooses) and the inline icon that stops /favicon.ico.
    expect([...html.matchAll(/href="([^"]*)"/g)].map((m) => m[1])).toEqual(['data:,', 'https://report.example/x']);
  });

  it('escapes every value and every text, so neither the request nor a template can add markup', () => {
    const hostile = '<script>alert(1)</script>"\'&';
    const texts = { ...BUILT_IN_TEXTS.en, heading: `Warning ${hostile}`, categories: { x: `cat ${hostile}` }, unknownCategory: 'listed as {category}' };
    const html = renderPage(texts, { blocked: { name: hostile, list: hostile, category: hostile }, hotline: '', operator: hostile });
    expect(html).not.toContain('<script>');
    expect(html).toContain('Warning &lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;');
    expect(html).toContain('<strong class="name">&lt;script&gt;');
  });

  it('an unknown category is named as such; aliases map to a described one', () => {
    const html = renderPage(BUILT_IN_TEXTS.en, { blocked: { ...site, category: 'uncategorized' }, hotline: '', operator: '' });
    expect(html).toContain('listed as “uncategorized”.');
    expect(categoryKey('pig-butchering')).toBe('romance');
    expect(categoryKey('phishing')).toBe('phishing');
  });

  it('describes every category the shipped lists and the issue name, in both languages', () => {
    for (const category of ['fake-loan', 'fake-job', 'investment', 'gambling', 'impersonation', 'phishing', 'malware', 'fraud']) {
      expect(BUILT_IN_TEXTS.en.categories[category], category).toBeTruthy();
      expect(BUILT_IN_TEXTS.zh.categories[category], category).toBeTruthy();
    }
  });

  it('escapeHtml escapes the five characters that matter', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  });
});
