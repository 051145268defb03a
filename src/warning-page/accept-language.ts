// Which of the page's languages a browser asked for, from Accept-Language (RFC 9110 §12.5.4):
// the supported language with the highest weight wins; ties go to the one listed first.
import type { PageLanguage } from './page-texts.js';

/** Headers longer than this are not parsed further (the server caps headers anyway). */
const MAX_HEADER_LENGTH = 1024;

export function pickLanguage(header: string | undefined): PageLanguage {
  if (header === undefined || header === '') return 'en';
  let best: PageLanguage = 'en';
  let bestWeight = 0;
  for (const item of header.slice(0, MAX_HEADER_LENGTH).split(',')) {
    const [tag = '', ...params] = item.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const weight = q === undefined ? 1 : Number(q.slice(2));
    if (!Number.isFinite(weight) || weight <= 0 || weight > 1) continue;
    // Every Chinese variant gets the Simplified Chinese page: it is the only Chinese one.
    const language: PageLanguage | undefined = tag === 'zh' || tag.startsWith('zh-') ? 'zh' : tag === 'en' || tag.startsWith('en-') ? 'en' : undefined;
    if (language !== undefined && weight > bestWeight) {
      best = language;
      bestWeight = weight;
    }
  }
  return best;
}
