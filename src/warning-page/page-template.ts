// `--warning-page-template FILE`: an operator's own words for the warning page. A YAML or JSON
// mapping by language (en, zh) of the same keys as the built-in texts; every key is optional and
// falls back to the built-in text. Only text can be replaced, never markup: every value is
// HTML-escaped when the page is rendered, so a template cannot break the page's guarantees.
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { FraudwallError } from '../errors.js';
import { BUILT_IN_TEXTS, PAGE_LANGUAGES, PAGE_PLACEHOLDERS, type PageLanguage, type PageTexts } from './page-texts.js';

const MAX_TEXT_LENGTH = 2000;
const MAX_STEPS = 12;
const MAX_CATEGORIES = 200;
const MAX_FILE_BYTES = 256 * 1024;

const STRING_KEYS = [
  'htmlLang',
  'title',
  'heading',
  'namedIntro',
  'genericIntro',
  'listLine',
  'whatNowHeading',
  'hotlineLine',
  'operatorLine',
  'reportHeading',
  'reportText',
  'unknownCategory',
] as const;

export class PageTemplateError extends FraudwallError {
  constructor(file: string, problems: readonly string[]) {
    super(
      'E_WARNING_PAGE_TEMPLATE',
      `warning page template ${file} has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n` +
        problems.map((p) => `  - ${p}`).join('\n') +
        '\nFix the file (keys: en/zh → ' +
        [...STRING_KEYS, 'steps', 'categories'].join(', ') +
        ') or set --warning-page-template off.',
    );
  }
}

/** Problems with one text: too long, unknown placeholder. */
function textProblems(where: string, value: unknown): string[] {
  if (typeof value !== 'string') return [`${where}: must be text, got ${JSON.stringify(value)}`];
  const problems: string[] = [];
  if (value.length > MAX_TEXT_LENGTH) problems.push(`${where}: longer than ${MAX_TEXT_LENGTH} characters`);
  for (const match of value.matchAll(/\{([^{}]*)\}/g)) {
    if (!(PAGE_PLACEHOLDERS as readonly string[]).includes(match[1]!)) {
      problems.push(`${where}: unknown placeholder {${match[1]}} (known: ${PAGE_PLACEHOLDERS.map((p) => `{${p}}`).join(' ')})`);
    }
  }
  return problems;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The texts of one language: the template's where given, the built-in ones elsewhere. */
function mergeLanguage(language: PageLanguage, raw: unknown, problems: string[]): PageTexts {
  const base = BUILT_IN_TEXTS[language];
  if (raw === undefined) return base;
  if (!isMapping(raw)) {
    problems.push(`${language}: must be a mapping of texts`);
    return base;
  }
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(raw)) {
    const where = `${language}.${key}`;
    if ((STRING_KEYS as readonly string[]).includes(key)) {
      const found = textProblems(where, value);
      if (key === 'htmlLang' && typeof value === 'string' && !/^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/.test(value)) found.push(`${where}: must be a language tag like en or zh-CN`);
      problems.push(...found);
      if (found.length === 0) merged[key] = value;
    } else if (key === 'steps') {
      if (!Array.isArray(value) || value.length === 0 || value.length > MAX_STEPS) {
        problems.push(`${where}: must be a list of 1 to ${MAX_STEPS} texts`);
        continue;
      }
      const found = value.flatMap((step, i) => textProblems(`${where}[${i + 1}]`, step));
      problems.push(...found);
      if (found.length === 0) merged[key] = value;
    } else if (key === 'categories') {
      if (!isMapping(value) || Object.keys(value).length > MAX_CATEGORIES) {
        problems.push(`${where}: must be a mapping of category name to text (at most ${MAX_CATEGORIES})`);
        continue;
      }
      const found = Object.entries(value).flatMap(([category, text]) => textProblems(`${where}.${category}`, text));
      problems.push(...found);
      // Given categories replace or add to the built-in ones; the others stay.
      if (found.length === 0) merged[key] = { ...base.categories, ...(value as Record<string, string>) };
    } else {
      problems.push(`${where}: unknown key (known: ${[...STRING_KEYS, 'steps', 'categories'].join(', ')})`);
    }
  }
  return merged as unknown as PageTexts;
}

/** Texts from a template's parsed content; throws PageTemplateError listing every problem. */
export function textsFromTemplate(file: string, data: unknown): Readonly<Record<PageLanguage, PageTexts>> {
  const problems: string[] = [];
  if (!isMapping(data)) throw new PageTemplateError(file, ['must be a mapping with the keys en and/or zh']);
  for (const key of Object.keys(data)) {
    if (!(PAGE_LANGUAGES as readonly string[]).includes(key)) problems.push(`${key}: unknown language (known: ${PAGE_LANGUAGES.join(', ')})`);
  }
  const texts = { en: mergeLanguage('en', data['en'], problems), zh: mergeLanguage('zh', data['zh'], problems) };
  if (problems.length > 0) throw new PageTemplateError(file, problems);
  return texts;
}

/** Reads `--warning-page-template`; "off" gives the built-in texts. */
export async function loadPageTexts(file: string): Promise<Readonly<Record<PageLanguage, PageTexts>>> {
  if (file === 'off') return BUILT_IN_TEXTS;
  let text: string;
  try {
    const bytes = await readFile(file);
    if (bytes.length > MAX_FILE_BYTES) throw new PageTemplateError(file, [`is ${bytes.length} bytes; at most ${MAX_FILE_BYTES}`]);
    text = bytes.toString('utf8');
  } catch (error) {
    if (error instanceof PageTemplateError) throw error;
    throw new PageTemplateError(file, [`cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`]);
  }
  let data: unknown;
  try {
    data = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new PageTemplateError(file, [`is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(error as Error).message}`]);
  }
  return textsFromTemplate(file, data);
}
