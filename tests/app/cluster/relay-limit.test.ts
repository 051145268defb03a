// A worker relays foreign loop-probe names to the primary at a bounded rate: anyone can send
// queries for probe names, and each relay costs every worker an IPC message.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { perSecondLimit } from '../../../src/app/cluster/worker.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('perSecondLimit', () => {
  it('lets through at most N calls per second, and N again in the next second', () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    vi.setSystemTime(0);
    const allow = perSecondLimit(20);
    const first = Array.from({ length: 100 }, () => allow()).filter(Boolean).length;
    expect(first).toBe(20);
    vi.advanceTimersByTime(1000);
    const second = Array.from({ length: 100 }, () => allow()).filter(Boolean).length;
    expect(second).toBe(20);
  });
});
