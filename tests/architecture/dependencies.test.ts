// Runtime dependencies are exactly what src/ imports: nothing shipped unused, nothing used but undeclared.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };

function packagesImportedBy(dir: string): Set<string> {
  const found = new Set<string>();
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const text = readFileSync(path.join(entry.parentPath, entry.name), 'utf8');
    // `require('pkg/…')` counts too: data loaded on first use through createRequire (lookalike confusables).
    for (const match of text.matchAll(/(?:from\s*|import\(\s*|[rR]equire\(import\.meta\.url\)\(\s*)'([^'.][^']*)'/g)) {
      const spec = match[1]!;
      if (spec.startsWith('node:')) continue;
      found.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
  }
  return found;
}

describe('runtime dependencies', () => {
  const imported = packagesImportedBy(path.join(ROOT, 'src'));

  it('every runtime dependency is imported by src/', () => {
    expect(Object.keys(pkg.dependencies).filter((name) => !imported.has(name))).toEqual([]);
  });

  it('src/ imports no package that is not a runtime dependency', () => {
    expect([...imported].filter((name) => !(name in pkg.dependencies))).toEqual([]);
  });

  it('versions are pinned exactly', () => {
    expect(Object.entries(pkg.dependencies).filter(([, version]) => !/^\d+\.\d+\.\d+$/.test(version))).toEqual([]);
  });
});
