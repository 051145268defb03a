// Confusable skeletons (Unicode TR39 §4) and IDN decoding of one DNS label.
//
// The confusables mapping is the data file of the `unhomoglyph` package: Unicode's confusables.txt
// (version 13.0.0) as a JSON object, source character → prototype. We read the data and apply the
// TR39 algorithm ourselves (NFD, map every character, NFD again) instead of calling the package's
// function, which runs one 6,000-branch regular expression per call.
import { createRequire } from 'node:module';
import { toUnicode } from 'tr46';

interface Prototypes {
  readonly all: ReadonlyMap<string, string>;
  /** ASCII fast path: the prototype of each ASCII character (most labels are ASCII). */
  readonly ascii: readonly string[];
}

let prototypes: Prototypes | undefined;

/**
 * The mapping, read on first use: a server without protect lists never loads the 6,300 entries
 * (nor keeps them on its heap), so lookalike detection costs nothing until something is protected.
 */
function loadPrototypes(): Prototypes {
  if (prototypes !== undefined) return prototypes;
  const confusables = createRequire(import.meta.url)('unhomoglyph/data.json') as Record<string, string>;
  const all = new Map(Object.entries(confusables));
  const ascii = Array.from({ length: 128 }, (_, c) => all.get(String.fromCharCode(c)) ?? String.fromCharCode(c));
  prototypes = { all, ascii };
  return prototypes;
}
/** Nonspacing marks left by NFD: `pаypál` must look like `paypal` (see skeleton). */
const COMBINING_MARKS = /\p{Mn}/gu;

/**
 * The skeleton of a lower-case label: two labels that look alike have the same skeleton
 * (`pаypal` with a Cyrillic а, `paypa1` and `paypal`; `m` becomes `rn`, so `rnicrosoft` meets
 * `microsoft`). Two additions to TR39, both because DNS names are compared without case and
 * without regard to accents by the people reading them: the result is lower-cased again (TR39
 * maps `0` to `O` and `1` to `l`), and nonspacing marks are dropped (`é` reads as `e`).
 * Not meant for display.
 */
export function skeleton(label: string): string {
  const { all, ascii: ASCII_PROTOTYPES } = loadPrototypes();
  let ascii = true;
  for (let i = 0; i < label.length; i++) {
    if (label.charCodeAt(i) >= 128) {
      ascii = false;
      break;
    }
  }
  if (ascii) {
    let out = '';
    for (let i = 0; i < label.length; i++) out += ASCII_PROTOTYPES[label.charCodeAt(i)]!;
    return out.toLowerCase();
  }
  let out = '';
  for (const ch of label.normalize('NFD')) out += all.get(ch) ?? ch;
  return out.normalize('NFD').replace(COMBINING_MARKS, '').toLowerCase();
}

/** True when the label has characters outside ASCII (after IDN decoding). */
export function isNonAscii(label: string): boolean {
  for (let i = 0; i < label.length; i++) if (label.charCodeAt(i) >= 128) return true;
  return false;
}

/**
 * The Unicode form of a wire label (`xn--pypal-4ve` → `pаypal`), by UTS #46 (tr46). A label that is
 * not punycode, or does not decode, comes back as it is: a broken `xn--` label is judged as ASCII.
 */
export function decodeLabel(label: string): string {
  if (!label.startsWith('xn--')) return label;
  const { domain, error } = toUnicode(label);
  return error ? label : domain.toLowerCase();
}
