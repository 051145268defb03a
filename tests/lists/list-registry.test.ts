/**
 * ListRegistry: the set of named lists behind the live policy. Generations rise by one per update,
 * updates run one at a time, a refused change leaves no trace, the swap is one reference, observers
 * see every accepted set, and propagators finish before the update does.
 */
import { describe, expect, it } from 'vitest';
import { ListRegistry, type ListRecord } from '../../src/lists/list-registry.js';
import { silentLogger } from '../../src/log/logger.js';
import { parseList } from '../../src/policy/parse-list.js';
import { VerdictCache } from '../../src/policy/verdict-cache.js';

const record = (name: string, text: string, extra: Partial<ListRecord> = {}): ListRecord => ({
  list: parseList(text, { name, kind: 'block', category: `cat-${name}` }),
  source: 'api',
  origin: 'api',
  updatedAt: 0,
  generation: 1,
  ...extra,
});

const registryOf = (...records: ListRecord[]): ListRegistry => new ListRegistry(records, new VerdictCache(), silentLogger);

/** A promise with its resolve function, to hold a change or a propagation open. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('ListRegistry reads', () => {
  it('starts at generation 1 with the initial lists, sorted by name', () => {
    const registry = registryOf(record('zeta', 'z.example'), record('alpha', 'a.example'));
    expect(registry.generation).toBe(1);
    expect(registry.store.current.generation).toBe(1);
    expect(registry.all().map((r) => r.list.name)).toEqual(['alpha', 'zeta']);
    expect(registry.get('zeta')?.list.size).toBe(1);
    expect(registry.get('missing')).toBeUndefined();
    expect(registry.store.verdict('www.z.example').action).toBe('block');
  });

  it('info describes a list for the API', () => {
    const registry = registryOf();
    const r = record('fraud', 'a.example\nb.example\nhttp://bad/path\n', { source: 'url', origin: 'https://x.example/l.txt', updatedAt: 86_400_000, generation: 7 });
    expect(registry.info(r)).toEqual({
      name: 'fraud',
      kind: 'block',
      category: 'cat-fraud',
      entries: 2,
      skipped: 1,
      source: 'url',
      origin: 'https://x.example/l.txt',
      generation: 7,
      updatedAt: '1970-01-02T00:00:00.000Z',
    });
  });

  it.each([
    [['zeta', 'alpha']],
    [['alpha', 'zeta']],
  ])('lists combine in name order whatever the load order (%j): the same rule wins', (order) => {
    const registry = registryOf(...order.map((name) => record(name, 'evil.example')));
    expect(registry.store.verdict('a.evil.example').rule?.list).toBe('alpha');
  });
});

describe('ListRegistry.update', () => {
  it('hands the change a copy and the next generation, then swaps in a policy built from it', async () => {
    const registry = registryOf(record('base', 'old.example'));
    const before = registry.store.current;
    const seen: number[] = [];
    const { result, generation } = await registry.update((records, next) => {
      seen.push(next);
      // The live set is untouched while the change runs.
      records.set('extra', record('extra', 'new.example', { generation: next }));
      records.delete('base');
      expect(registry.get('base')).toBeDefined();
      expect(registry.get('extra')).toBeUndefined();
      return 'done';
    });
    expect({ result, generation, seen }).toEqual({ result: 'done', generation: 2, seen: [2] });
    expect(registry.generation).toBe(2);
    expect(registry.store.current).not.toBe(before);
    expect(registry.all().map((r) => r.list.name)).toEqual(['extra']);
    expect(registry.store.verdict('new.example').action).toBe('block');
    expect(registry.store.verdict('old.example').action).toBe('none');
    // A query that already held the old policy keeps its answer.
    expect(before.evaluate('old.example').rule?.list).toBe('base');
  });

  it('every update, even one that changes nothing, raises the generation by exactly one', async () => {
    const registry = registryOf();
    const generations: number[] = [];
    for (let i = 0; i < 5; i++) generations.push((await registry.update(() => undefined)).generation);
    expect(generations).toEqual([2, 3, 4, 5, 6]);
    expect(registry.generation).toBe(6);
  });

  it('a change that throws (or rejects) is refused whole: same lists, policy and generation; the next update works', async () => {
    const registry = registryOf(record('base', 'old.example'));
    const policy = registry.store.current;
    await expect(
      registry.update((records) => {
        records.clear();
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    await expect(
      registry.update(async (records) => {
        records.clear();
        await Promise.resolve();
        throw new Error('refused later');
      }),
    ).rejects.toThrow('refused later');
    expect(registry.store.current).toBe(policy);
    expect(registry.generation).toBe(1);
    expect(registry.get('base')).toBeDefined();
    expect((await registry.update(() => 'ok')).generation).toBe(2);
  });

  it('runs updates one at a time, in call order, even when the first is slow', async () => {
    const registry = registryOf();
    const gate = deferred();
    const log: string[] = [];
    const first = registry.update(async (_records, next) => {
      log.push(`first start ${next}`);
      await gate.promise;
      log.push('first end');
    });
    const second = registry.update((_records, next) => {
      log.push(`second start ${next}`);
    });
    const failing = registry.update(() => {
      log.push('third start');
      throw new Error('no');
    });
    const fourth = registry.update((_records, next) => {
      log.push(`fourth start ${next}`);
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(log).toEqual(['first start 2']);
    gate.resolve();
    expect((await first).generation).toBe(2);
    expect((await second).generation).toBe(3);
    await expect(failing).rejects.toThrow('no');
    expect((await fourth).generation).toBe(4);
    expect(log).toEqual(['first start 2', 'first end', 'second start 3', 'third start', 'fourth start 4']);
  });

  it('cached verdicts of the old policy are not served after a swap', async () => {
    const registry = registryOf(record('base', 'evil.example'));
    expect(registry.store.verdict('evil.example').action).toBe('block');
    await registry.update((records) => void records.delete('base'));
    expect(registry.store.verdict('evil.example').action).toBe('none');
  });
});

describe('observers and propagators', () => {
  it('an observer gets the current set at once, then every accepted set with its generation, never a refused one', async () => {
    const registry = registryOf(record('b', 'b.example'));
    const calls: [string[], number][] = [];
    registry.onChange((records, generation) => calls.push([records.map((r) => r.list.name), generation]));
    expect(calls).toEqual([[['b'], 1]]);
    await registry.update((records) => void records.set('a', record('a', 'a.example')));
    await registry.update(() => {
      throw new Error('refused');
    }).catch(() => undefined);
    await registry.update((records) => void records.delete('b'));
    expect(calls).toEqual([
      [['b'], 1],
      [['a', 'b'], 2],
      [['a'], 3],
    ]);
  });

  it('observers run after the swap: they see the new policy in the store', async () => {
    const registry = registryOf();
    const seen: number[] = [];
    registry.onChange(() => seen.push(registry.store.current.generation));
    await registry.update(() => undefined);
    expect(seen).toEqual([1, 2]);
  });

  it('an update resolves only after every propagator has finished, and the next update waits for them', async () => {
    const registry = registryOf();
    const gate = deferred();
    const log: string[] = [];
    registry.afterSwap(async (records, generation) => {
      log.push(`propagate ${generation} (${records.length} lists)`);
      if (generation === 2) await gate.promise;
    });
    registry.afterSwap(async (_records, generation) => {
      log.push(`second propagator ${generation}`);
    });
    let firstDone = false;
    const first = registry.update((records) => void records.set('a', record('a', 'a.example'))).then((r) => {
      firstDone = true;
      return r;
    });
    const second = registry.update((_records, next) => void log.push(`change ${next}`));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(firstDone).toBe(false);
    expect(registry.generation).toBe(2); // swapped, but not yet propagated
    expect(log).toEqual(['propagate 2 (1 lists)']);
    gate.resolve();
    expect((await first).generation).toBe(2);
    expect((await second).generation).toBe(3);
    expect(log).toEqual(['propagate 2 (1 lists)', 'second propagator 2', 'change 3', 'propagate 3 (1 lists)', 'second propagator 3']);
  });

  it('propagators are not called for a refused change', async () => {
    const registry = registryOf();
    let calls = 0;
    registry.afterSwap(async () => void calls++);
    await registry.update(() => {
      throw new Error('refused');
    }).catch(() => undefined);
    expect(calls).toBe(0);
  });
});
