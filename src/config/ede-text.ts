// The EDE 15 text of block answers (`--ede-text`): a template with {list} {category} {reason}
// {hotline}. RFC 8914 puts no limit on EXTRA-TEXT, but it rides in every block answer, so it is
// kept to 200 bytes: fixed text over that is a configuration error, and a rendered text that grows
// past it (long list names) is cut on a character boundary by the encoder.
import { hotlineDisplay } from './hotline.js';

export const EDE_TEXT_MAX_BYTES = 200;

export const EDE_TEXT_PLACEHOLDERS = ['list', 'category', 'reason', 'hotline'] as const;
export type EdeTextPlaceholder = (typeof EDE_TEXT_PLACEHOLDERS)[number];

/** The built-in text, as before this setting existed; the hotline is appended when one is set. */
export const DEFAULT_EDE_TEXT = 'blocked by fraudwall list {list} ({category})';
export const DEFAULT_HOTLINE_SUFFIX = '; anti-fraud hotline {hotline}';

/** The template in effect: `--ede-text`, or the built-in one (with the hotline when there is one). */
export function edeTextTemplate(settings: { readonly edeText: string; readonly hotline: string }): string {
  if (settings.edeText !== '') return settings.edeText;
  return settings.hotline === '' ? DEFAULT_EDE_TEXT : DEFAULT_EDE_TEXT + DEFAULT_HOTLINE_SUFFIX;
}

const PLACEHOLDER = /\{([^{}]*)\}/g;

/** Problems with a template: unknown placeholders, stray braces, fixed text over the limit. */
export function edeTextProblems(template: string, hotline: string): string[] {
  const problems: string[] = [];
  for (const match of template.matchAll(PLACEHOLDER)) {
    if (!(EDE_TEXT_PLACEHOLDERS as readonly string[]).includes(match[1]!)) {
      problems.push(`unknown placeholder {${match[1]}} (known: ${EDE_TEXT_PLACEHOLDERS.map((p) => `{${p}}`).join(' ')})`);
    }
  }
  if (problems.length === 0 && /[{}]/.test(template.replace(PLACEHOLDER, ''))) problems.push('has a "{" or "}" that is not part of a placeholder');
  if (problems.length > 0) return problems;
  if (template.includes('{hotline}') && hotline === '') problems.push('uses {hotline} but no --hotline is set');
  const fixed = renderEdeText(template, { list: '', category: '', reason: '', hotline });
  const bytes = Buffer.byteLength(fixed, 'utf8');
  if (bytes > EDE_TEXT_MAX_BYTES) problems.push(`is ${bytes} bytes without the list, category and reason; at most ${EDE_TEXT_MAX_BYTES}`);
  return problems;
}

/** Fills the placeholders; the hotline is shown as a person dials it (96110, not tel:96110). */
export function renderEdeText(template: string, values: Readonly<Record<EdeTextPlaceholder, string>>): string {
  return template.replace(PLACEHOLDER, (whole, name: string) => {
    if (name === 'hotline') return values.hotline === '' ? '' : hotlineDisplay(values.hotline);
    return (EDE_TEXT_PLACEHOLDERS as readonly string[]).includes(name) ? values[name as EdeTextPlaceholder] : whole;
  });
}
