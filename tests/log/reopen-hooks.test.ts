import { describe, expect, it } from 'vitest';
import { onReopen, reopenFiles } from '../../src/log/reopen-hooks.js';

describe('reopen hooks', () => {
  it('reopens every registered file, reports each failure by name without stopping the others, and forgets unregistered ones', async () => {
    const calls: string[] = [];
    const offA = onReopen('query log a', async () => {
      calls.push('a');
    });
    const offB = onReopen('events spool b', async () => {
      calls.push('b');
      throw new Error('EACCES');
    });
    const offC = onReopen('c', () => Promise.reject('not an Error'));
    const results = await reopenFiles();
    expect(calls.sort()).toEqual(['a', 'b']);
    expect(results.map((r) => [r.name, r.error?.message])).toEqual([
      ['query log a', undefined],
      ['events spool b', 'EACCES'],
      ['c', 'not an Error'],
    ]);
    offB();
    offC();
    expect((await reopenFiles()).map((r) => r.name)).toEqual(['query log a']);
    offA();
    expect(await reopenFiles()).toEqual([]);
  });
});
