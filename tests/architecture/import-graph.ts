// Reads the relative imports of a source tree and judges them against a layer order.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** file (relative to the root, '/'-separated) → the files it imports. */
export type ImportGraph = ReadonlyMap<string, readonly string[]>;

const IMPORT_PATTERN = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)|(?:^|\n)\s*import\s*'(\.[^']+)'/g;

export function readImportGraph(root: string): ImportGraph {
  const graph = new Map<string, string[]>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts')) {
        const file = path.relative(root, full).split(path.sep).join('/');
        const text = readFileSync(full, 'utf8');
        const targets: string[] = [];
        for (const match of text.matchAll(IMPORT_PATTERN)) {
          const spec = match[1] ?? match[2] ?? match[3]!;
          const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec)).replace(/\.js$/, '.ts');
          targets.push(resolved);
        }
        graph.set(file, targets);
      }
    }
  };
  walk(root);
  return graph;
}

/** The unit a file belongs to: its top folder under the root, or the file itself at the top. */
export function unitOf(file: string): string {
  const slash = file.indexOf('/');
  return slash === -1 ? file : file.slice(0, slash);
}

/** Imports that point up the layers or sideways into a peer of the same layer, and units no layer names. */
export function layerViolations(graph: ImportGraph, layers: readonly (readonly string[])[]): string[] {
  const layerOf = new Map<string, number>();
  layers.forEach((units, index) => units.forEach((unit) => layerOf.set(unit, index)));
  const problems: string[] = [];
  for (const [file, targets] of graph) {
    const from = unitOf(file);
    const fromLayer = layerOf.get(from);
    if (fromLayer === undefined) {
      problems.push(`${file}: ${from} is in no layer; add it to the layer order`);
      continue;
    }
    for (const target of targets) {
      const to = unitOf(target);
      if (to === from) continue;
      const toLayer = layerOf.get(to);
      if (toLayer === undefined) problems.push(`${file} imports ${target}: ${to} is in no layer`);
      else if (toLayer > fromLayer) problems.push(`${file} imports ${target}: ${from} (layer ${fromLayer}) may not import ${to} (layer ${toLayer}), which is above it`);
      else if (toLayer === fromLayer) problems.push(`${file} imports ${target}: ${from} and ${to} are peers in layer ${fromLayer}; move what they share down`);
    }
  }
  return problems;
}

/** Every import cycle between files, each as the path that closes it (a → b → a). */
export function importCycles(graph: ImportGraph): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'visiting');
    stack.push(file);
    for (const target of graph.get(file) ?? []) {
      if (!graph.has(target)) continue;
      const seen = state.get(target);
      if (seen === 'visiting') cycles.push([...stack.slice(stack.indexOf(target)), target]);
      else if (seen === undefined) visit(target);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of [...graph.keys()].sort()) if (!state.has(file)) visit(file);
  return cycles;
}
