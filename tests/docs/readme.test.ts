/**
 * The README is a contract: every setting and every metric fraudwall has must be documented there.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SERVE_OPTIONS } from '../../src/config/options.js';
import { FleetMetrics } from '../../src/metrics/fleet-metrics.js';
import { Metrics } from '../../src/metrics/metrics.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('starts with the install-and-run and install-and-test commands', () => {
    const firstBlock = readme.slice(readme.indexOf('```sh'), readme.indexOf('```', readme.indexOf('```sh') + 5));
    expect(firstBlock).toContain('npm ci && npm start');
    expect(firstBlock).toContain('npm ci && npm test');
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts['start']).toContain('serve');
    expect(readFileSync(new URL('../../.ci/run', import.meta.url), 'utf8')).toMatch(/^npm test$/m);
  });

  it('documents every setting of serve', () => {
    const missing = SERVE_OPTIONS.filter((spec) => !readme.includes(`\`${spec.key}\``)).map((spec) => spec.key);
    expect(missing).toEqual([]);
  });

  it('documents every fraudwall metric', async () => {
    const metrics = new Metrics('test');
    metrics.watchUpstreams(() => []);
    metrics.watchVerdictCache(() => ({ hits: 0, misses: 0, size: 0 }));
    metrics.watchIgnoredAnswers(() => []);
    metrics.watchResponseCache(() => ({ hits: 0, misses: 0, stale: 0, prefetches: 0, entries: 0, bytes: 0 }));
    metrics.watchEvents(() => {
      throw new Error('not read: only the names are listed');
    });
    new FleetMetrics(metrics.registry, () => ({ connected: false, lists: [] }));
    const names = metrics.registry
      .getMetricsAsArray()
      .map((metric) => (metric as unknown as { name: string }).name)
      .filter((name) => name.startsWith('fraudwall_'));
    expect(names.length).toBeGreaterThan(20);
    // A row may document a pair as `fraudwall_x_hits_total` / `_misses_total`.
    const undocumented = names.filter((name) => !readme.includes(name) && !readme.includes(`\`_${name.split('_').slice(-2).join('_')}\``));
    expect(undocumented).toEqual([]);
  });
});
