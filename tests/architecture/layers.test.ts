import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { importCycles, layerViolations, readImportGraph, type ImportGraph } from './import-graph.js';

/**
 * The layer order of src/, bottom first: the one place it is written. A unit (a folder under src/,
 * or a file at its top) imports only from units in lower layers; units in one layer are peers and
 * do not import each other. The README's design section explains each folder.
 */
export const LAYERS: readonly (readonly string[])[] = [
  ['errors.ts', 'runtime-guard.ts', 'runtime-flags.ts', 'seeded-hash.ts', 'version.ts', 'log', 'net'], // foundation: error codes, Node version guard, V8/malloc launch settings, index hash, version, logger, listening and per-client connection bookkeeping
  ['dns'], // wire codec: parse, write, EDNS, EDE; imports nothing of ours but the foundation
  ['query'], // the query contract: QueryContext, Answer, Resolver, Rule, Verdict
  ['config'], // the settings table, Config, addresses and CIDRs
  ['lookalike'], // protected domains and the lookalike judge: skeletons, edit distance, index (#13)
  ['policy'], // pure matching: list parsers, rule index, policy, verdict cache, explain
  ['admission', 'cache', 'querylog', 'upstream', 'warning-page'], // client gate, response cache, query log, upstream clients, warning page server
  ['events'], // early-warning events: dedupe, CloudEvents, signing, spool, delivery (issue #12)
  ['metrics'], // Prometheus registry and hot-path counters
  ['lists', 'resolver', 'server'], // list sources and registry; chain elements; transports
  ['fleet'], // list state shared by every instance through Redis (--redis)
  ['admin'], // HTTP server and admin API
  ['app'], // composition: single process, cluster primary and workers
  ['cli'], // command-line parsing helpers of the entry point (usage errors, did-you-mean)
  ['cli.ts'], // entry point
];

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');

describe('src/ import layers', () => {
  const graph = readImportGraph(SRC);

  it('reads the whole tree', () => {
    expect(graph.size).toBeGreaterThan(50);
    expect(graph.get('cli.ts')).toContain('app/start-server.ts');
  });

  it('every import points down the layers', () => {
    expect(layerViolations(graph, LAYERS)).toEqual([]);
  });

  it('no file imports itself through others (no cycles)', () => {
    expect(importCycles(graph).map((cycle) => cycle.join(' → '))).toEqual([]);
  });

  it('the codec imports nothing of ours but the foundation', () => {
    const foundation = new Set(LAYERS[0]);
    const outside = [...graph]
      .filter(([file]) => file.startsWith('dns/'))
      .flatMap(([file, targets]) => targets.filter((t) => !t.startsWith('dns/') && !foundation.has(t.split('/')[0]!)).map((t) => `${file} → ${t}`));
    expect(outside).toEqual([]);
  });
});

describe('the checker itself', () => {
  const layers = [['low'], ['mid-a', 'mid-b'], ['high']];
  const graphOf = (edges: Record<string, string[]>): ImportGraph => new Map(Object.entries(edges));

  it('accepts imports that point down or stay inside a unit', () => {
    expect(layerViolations(graphOf({ 'high/x.ts': ['mid-a/y.ts', 'low/z.ts', 'high/w.ts'], 'mid-a/y.ts': ['low/z.ts'] }), layers)).toEqual([]);
  });

  it('flags an import that points up', () => {
    const problems = layerViolations(graphOf({ 'low/z.ts': ['high/x.ts'] }), layers);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('may not import high');
  });

  it('flags an import between peers of one layer', () => {
    expect(layerViolations(graphOf({ 'mid-a/y.ts': ['mid-b/q.ts'] }), layers)[0]).toContain('are peers');
  });

  it('flags a unit that no layer names', () => {
    expect(layerViolations(graphOf({ 'stray/s.ts': [] }), layers)[0]).toContain('is in no layer');
  });

  it('finds a cycle, also inside one unit', () => {
    const cycles = importCycles(graphOf({ 'low/a.ts': ['low/b.ts'], 'low/b.ts': ['low/c.ts'], 'low/c.ts': ['low/a.ts'], 'low/d.ts': [] }));
    expect(cycles).toEqual([['low/a.ts', 'low/b.ts', 'low/c.ts', 'low/a.ts']]);
  });
});
