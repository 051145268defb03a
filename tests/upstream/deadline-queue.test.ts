import { afterEach, describe, expect, it } from 'vitest';
import { DeadlineQueue } from '../../src/upstream/deadline-queue.js';

const queues: DeadlineQueue[] = [];
afterEach(() => {
  for (const queue of queues.splice(0)) queue.clear();
});

function makeQueue(capacity: number, initialSize?: number): { queue: DeadlineQueue; expired: number[] } {
  const expired: number[] = [];
  const queue = new DeadlineQueue(capacity, (slot) => expired.push(slot), initialSize);
  queues.push(queue);
  return { queue, expired };
}

/** Deterministic pseudo-random numbers (a linear congruential generator), so a failure can be replayed. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

// Deadlines far in the future, so the real timer never fires during these tests: expire() is
// driven by hand with a chosen "now".
const FAR = 1e12;

describe('DeadlineQueue ordering', () => {
  it('expires slots earliest deadline first, only those due', () => {
    const { queue, expired } = makeQueue(16);
    const a = queue.add(FAR + 30);
    const b = queue.add(FAR + 10);
    const c = queue.add(FAR + 20);
    const d = queue.add(FAR + 40);
    expect(queue.earliest).toBe(FAR + 10);
    queue.expire(FAR + 25);
    expect(expired).toEqual([b, c]);
    expect(queue.size).toBe(2);
    queue.expire(FAR + 30);
    expect(expired).toEqual([b, c, a]);
    queue.expire(FAR + 1000);
    expect(expired).toEqual([b, c, a, d]);
    expect(queue.size).toBe(0);
    expect(queue.earliest).toBe(Number.POSITIVE_INFINITY);
  });

  it('keeps heap order through thousands of random adds, cancels and expiries (checked against a sorted list)', () => {
    const random = lcg(16);
    const { queue, expired } = makeQueue(4096, 8);
    const live = new Map<number, number>(); // slot -> deadline
    let now = FAR;
    for (let step = 0; step < 20_000; step++) {
      const roll = random();
      if (roll < 0.55) {
        const deadline = now + 1 + Math.floor(random() * 500);
        const slot = queue.add(deadline);
        expect(slot).toBeGreaterThanOrEqual(0);
        expect(live.has(slot)).toBe(false);
        live.set(slot, deadline);
      } else if (roll < 0.9 && live.size > 0) {
        const slots = [...live.keys()];
        const slot = slots[Math.floor(random() * slots.length)]!;
        expect(queue.cancel(slot)).toBe(true);
        live.delete(slot);
      } else {
        now += Math.floor(random() * 50);
        const due = [...live.entries()].filter(([, deadline]) => deadline <= now);
        expired.length = 0;
        queue.expire(now);
        // Earliest first: the deadlines reported never decrease, and exactly the due slots are reported.
        const reported = expired.map((slot) => live.get(slot)!);
        expect(reported).toEqual([...reported].sort((x, y) => x - y));
        expect(new Set(expired)).toEqual(new Set(due.map(([slot]) => slot)));
        for (const slot of expired) live.delete(slot);
      }
      expect(queue.size).toBe(live.size);
      const minimum = Math.min(...live.values());
      expect(queue.earliest).toBe(live.size === 0 ? Number.POSITIVE_INFINITY : minimum);
    }
  });
});

describe('DeadlineQueue cancellation', () => {
  it('a cancelled slot never expires, and cancelling twice or an unknown slot is refused', () => {
    const { queue, expired } = makeQueue(8);
    const a = queue.add(FAR + 1);
    const b = queue.add(FAR + 2);
    expect(queue.cancel(a)).toBe(true);
    expect(queue.cancel(a)).toBe(false);
    expect(queue.cancel(-1)).toBe(false);
    expect(queue.cancel(7)).toBe(false);
    expect(Number.isNaN(queue.deadline(a))).toBe(true);
    expect(queue.deadline(b)).toBe(FAR + 2);
    queue.expire(FAR + 10);
    expect(expired).toEqual([b]);
  });

  it('cancelling from the middle of the heap keeps the rest in order', () => {
    const { queue, expired } = makeQueue(64);
    const slots = Array.from({ length: 31 }, (_, i) => queue.add(FAR + i));
    for (const i of [15, 3, 7, 0, 30, 22]) queue.cancel(slots[i]!);
    queue.expire(FAR + 100);
    const remaining = slots.filter((_, i) => ![15, 3, 7, 0, 30, 22].includes(i));
    expect(expired).toEqual(remaining);
  });
});

describe('DeadlineQueue slots wrap around', () => {
  it('reuses freed slots, so a million queries through a queue of 4 stay within 4 slots', () => {
    const { queue, expired } = makeQueue(4, 4);
    let now = FAR;
    const seen = new Set<number>();
    for (let i = 0; i < 1_000_000; i++) {
      const slot = queue.add(now + 5);
      seen.add(slot);
      if (i % 3 === 0) {
        now += 5;
        queue.expire(now);
      } else {
        queue.cancel(slot);
      }
    }
    expect([...seen].every((slot) => slot >= 0 && slot < 4)).toBe(true);
    expect(queue.allocated).toBe(4);
    expect(expired.length).toBeGreaterThan(300_000);
  });
});

describe('DeadlineQueue bounded size', () => {
  it('grows its arrays by doubling up to the capacity, then refuses with -1 until a slot is freed', () => {
    const { queue } = makeQueue(100, 8);
    expect(queue.allocated).toBe(8);
    const slots = Array.from({ length: 100 }, (_, i) => queue.add(FAR + i));
    expect(new Set(slots).size).toBe(100);
    expect(slots.every((slot) => slot >= 0 && slot < 100)).toBe(true);
    expect(queue.allocated).toBe(100);
    expect(queue.add(FAR)).toBe(-1);
    expect(queue.size).toBe(100);
    queue.cancel(slots[42]!);
    expect(queue.add(FAR)).toBe(slots[42]);
    expect(queue.allocated).toBe(100);
  });

  it('rejects a capacity that is not a positive integer', () => {
    expect(() => new DeadlineQueue(0, () => {})).toThrow(RangeError);
    expect(() => new DeadlineQueue(1.5, () => {})).toThrow(RangeError);
  });
});

describe('DeadlineQueue timer', () => {
  it('one real timer expires every due slot in deadline order, never before its deadline; an earlier deadline re-arms it', async () => {
    const times: number[] = [];
    const expired: number[] = [];
    const queue = new DeadlineQueue(16, (slot) => {
      expired.push(slot);
      times.push(performance.now());
    });
    queues.push(queue);
    const start = performance.now();
    const late = queue.add(start + 60);
    const early = queue.add(start + 20); // earlier than the armed deadline: re-arms
    const cancelled = queue.add(start + 30);
    queue.cancel(cancelled);
    while (queue.size > 0) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(expired).toEqual([early, late]);
    // Node's whole-millisecond timers may fire early by performance.now(); expire() then re-arms.
    expect(times[0]! - start).toBeGreaterThanOrEqual(20);
    expect(times[1]! - start).toBeGreaterThanOrEqual(60);
  });

  it('an empty queue does not keep the process alive, a pending deadline does', () => {
    const { queue } = makeQueue(4);
    const slot = queue.add(performance.now() + 10_000);
    const timer = queue['timer'] as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(true);
    queue.cancel(slot);
    expect(timer.hasRef()).toBe(false);
    queue.add(performance.now() + 20_000); // later than the armed time: the same timer, ref'd again
    expect(queue['timer']).toBe(timer);
    expect(timer.hasRef()).toBe(true);
  });
});
