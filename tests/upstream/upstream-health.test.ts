import { describe, expect, it } from 'vitest';
import { UpstreamHealth, type UpstreamHealthObserver } from '../../src/upstream/upstream-health.js';

function recorder(): { events: string[]; observer: UpstreamHealthObserver } {
  const events: string[] = [];
  return {
    events,
    observer: {
      down: (index, failures, reason, backoffMs, allDown) => events.push(`down ${index} ${failures} ${reason} ${backoffMs} ${allDown ? 'all' : 'some'}`),
      up: (index) => events.push(`up ${index}`),
    },
  };
}

describe('UpstreamHealth observer', () => {
  const options = { failureThreshold: 3, baseBackoffMs: 2000, maxBackoffMs: 60_000 };

  it('tells once when a circuit opens (with the last reason), not on every failed probe, and once when it closes', () => {
    const { events, observer } = recorder();
    const health = new UpstreamHealth(2, options, observer);
    health.failure(0, 0, 'timeout');
    health.failure(0, 0, 'timeout');
    expect(events).toEqual([]);
    health.failure(0, 0, 'connection-refused');
    expect(events).toEqual(['down 0 3 connection-refused 2000 some']);
    health.failure(0, 3000, 'connection-refused'); // the probe after the backoff fails: still down, no new event
    expect(events).toHaveLength(1);
    health.success(0);
    health.success(0); // already up: no event
    expect(events).toEqual(['down 0 3 connection-refused 2000 some', 'up 0']);
  });

  it('says when the last healthy upstream goes down', () => {
    const { events, observer } = recorder();
    const health = new UpstreamHealth(2, options, observer);
    for (let i = 0; i < 3; i++) health.failure(0, 0, 'network');
    for (let i = 0; i < 3; i++) health.failure(1, 100, 'timeout');
    expect(events).toEqual(['down 0 3 network 2000 some', 'down 1 3 timeout 2000 all']);
  });
});

describe('UpstreamHealth order', () => {
  const options = { failureThreshold: 1, baseBackoffMs: 1000, maxBackoffMs: 1000 };

  it('while every upstream is healthy, shares one read-only rotation per starting index (no array per query)', () => {
    const health = new UpstreamHealth(3, options);
    const first = health.order(1, 0);
    expect(first).toEqual([1, 2, 0]);
    expect(health.order(1, 5)).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(health.order(0, 5)).toEqual([0, 1, 2]);
  });

  it('once one is down, a fresh order without it, and the shared rotation again after its backoff', () => {
    const health = new UpstreamHealth(3, options);
    const shared = health.order(0, 0);
    health.failure(1, 100, 'timeout');
    expect(health.order(0, 200)).toEqual([0, 2]);
    expect(shared).toEqual([0, 1, 2]); // the shared array was not touched
    expect(health.order(0, 100 + 1000)).toBe(shared);
    health.setLooping(2, true);
    expect(health.order(0, 5000)).toEqual([0, 1]);
    health.setLooping(2, false);
    expect(health.order(0, 5000)).toBe(shared);
  });
});
