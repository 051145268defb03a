import { describe, expect, it } from 'vitest';
import { nearestName } from '../../src/config/nearest-name.js';

describe('nearestName', () => {
  const keys = ['block-ttl', 'block-mode', 'upstream', 'upstream-timeout-ms', 'json', 'lists', 'state', 'config'];

  it.each([
    ['blockttl', 'block-ttl'],
    ['BLOCK_TTL', 'block-ttl'],
    ['blockTtl', 'block-ttl'],
    ['block-mdoe', 'block-mode'],
    ['upstrem', 'upstream'],
    ['jsno', 'json'],
    ['list', 'lists'],
    ['cofnig', 'config'],
  ])('%s → %s', (typo, known) => {
    expect(nearestName(typo, keys)).toBe(known);
  });

  it.each(['colour', 'token', 'x', 'completely-different'])('%s has no near name', (input) => {
    expect(nearestName(input, keys)).toBeUndefined();
  });
});
