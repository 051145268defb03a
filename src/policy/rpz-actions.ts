// The RPZ action codes kept per entry of an RPZ list (PackedRules.rpzActions): one byte, the action
// in the low bits and RPZ_EXACT when the trigger covers the name only (no `*.`).
import type { RpzAction } from '../query/rule.js';

export const RPZ_EXACT = 0x80;

const ACTIONS: readonly RpzAction[] = ['nxdomain', 'nodata', 'passthru', 'drop', 'tcp-only', 'local'];

export function rpzActionCode(action: RpzAction, exact: boolean): number {
  return ACTIONS.indexOf(action) | (exact ? RPZ_EXACT : 0);
}

export function rpzActionName(code: number): RpzAction {
  return ACTIONS[code & 0x7f] ?? 'nxdomain';
}
