import type { ParsedList } from '../../src/policy/parse-list.js';
import type { Rule } from '../../src/query/rule.js';

/** Every rule of a parsed list, materialised (tests only: production code never needs them all). */
export function rulesOf(list: ParsedList): Rule[] {
  return Array.from({ length: list.size }, (_, i) => list.rule(i));
}
