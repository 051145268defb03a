// The warning page as one self-contained HTML document: inline CSS, no script, no image, no font,
// no link that loads anything. Every value and every text is HTML-escaped here, the only place
// markup is written, so neither a request nor a template can put markup on the page.
import { hotlineDisplay } from '../config/hotline.js';
import { categoryKey, type PageTexts } from './page-texts.js';

export interface BlockedSite {
  /** The blocked name, already validated as a domain the live policy blocks. */
  readonly name: string;
  readonly list: string;
  readonly category: string;
}

export interface PageView {
  /** Absent: the generic page (the Host was not a name the policy blocks). */
  readonly blocked: BlockedSite | undefined;
  /** A contact URI (tel:96110) or ''. */
  readonly hotline: string;
  readonly operator: string;
}

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** HTML for each placeholder's value; markup built here from escaped parts only. */
type Fillers = Readonly<Record<string, string>>;

/** A text with its placeholders filled: literal parts escaped, fillers inserted as built. */
function fill(text: string, fillers: Fillers): string {
  let out = '';
  let last = 0;
  for (const match of text.matchAll(/\{([a-z]+)\}/g)) {
    out += escapeHtml(text.slice(last, match.index));
    out += fillers[match[1]!] ?? '';
    last = match.index + match[0].length;
  }
  return out + escapeHtml(text.slice(last));
}

function categoryText(texts: PageTexts, category: string): string {
  const description = texts.categories[categoryKey(category)];
  return description ?? texts.unknownCategory;
}

const STYLE = `
:root{color-scheme:light}
*{box-sizing:border-box}
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI","Noto Sans","Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;background:#fff5f5;color:#1a1a1a;line-height:1.55;font-size:18px}
main{max-width:42rem;margin:0 auto;padding:1.5rem 1.25rem 3rem}
.banner{background:#b00020;color:#fff;padding:1.25rem;border-radius:.75rem}
h1{margin:0;font-size:1.6rem;line-height:1.25}
h2{font-size:1.2rem;margin:2rem 0 .5rem}
.name{font-family:ui-monospace,Menlo,Consolas,monospace;word-break:break-all;background:#fff;color:#b00020;padding:0 .25rem;border-radius:.25rem}
.category{font-weight:600}
ol{padding-left:1.4rem}li{margin:.4rem 0}
.hotline{display:block;margin:1.5rem 0;padding:1rem;border:3px solid #b00020;border-radius:.75rem;background:#fff;font-size:1.3rem;font-weight:700;text-align:center}
.hotline a{color:#b00020}
.small{font-size:.95rem;color:#444}
`;

/** The whole document for one request. */
export function renderPage(texts: PageTexts, view: PageView): string {
  const site = view.blocked;
  const fillers: Fillers = {
    name: site ? `<strong class="name">${escapeHtml(site.name)}</strong>` : '',
    list: site ? `<span class="list">${escapeHtml(site.list)}</span>` : '',
    category: site ? `<span class="category">${fill(categoryText(texts, site.category), { category: escapeHtml(site.category) })}</span>` : '',
    hotline: view.hotline ? `<a class="hotline-number" href="${escapeHtml(view.hotline)}">${escapeHtml(hotlineDisplay(view.hotline))}</a>` : '',
    operator: view.operator ? `<span class="operator">${escapeHtml(view.operator)}</span>` : '',
  };
  const parts: string[] = [
    '<!DOCTYPE html>',
    `<html lang="${escapeHtml(texts.htmlLang)}">`,
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width,initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    '<meta name="robots" content="noindex">',
    // An icon of its own, so the browser does not ask the server for /favicon.ico.
    '<link rel="icon" href="data:,">',
    `<title>${fill(texts.title, fillers)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body><main>',
    `<div class="banner"><h1>${fill(texts.heading, fillers)}</h1></div>`,
    `<p class="intro">${fill(site ? texts.namedIntro : texts.genericIntro, fillers)}</p>`,
  ];
  if (site) parts.push(`<p class="reason">${fill(texts.listLine, fillers)}</p>`);
  if (view.hotline) parts.push(`<p class="hotline">${fill(texts.hotlineLine, fillers)}</p>`);
  parts.push(`<h2>${fill(texts.whatNowHeading, fillers)}</h2>`, '<ol class="steps">');
  for (const step of texts.steps) parts.push(`<li>${fill(step, fillers)}</li>`);
  parts.push('</ol>', `<h2>${fill(texts.reportHeading, fillers)}</h2>`, `<p class="report">${fill(texts.reportText, fillers)}</p>`);
  if (view.operator) parts.push(`<p class="small">${fill(texts.operatorLine, fillers)}</p>`);
  parts.push('</main></body>', '</html>', '');
  return parts.join('\n');
}
