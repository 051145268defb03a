// The error-code registry is the one list of codes: src/ uses none outside it, and the README documents each.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, FraudwallError, isErrorCode } from '../src/errors.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(path.join(dir, entry.name)) : entry.name.endsWith('.ts') ? [path.join(dir, entry.name)] : [],
  );
}

describe('error codes', () => {
  const codes = Object.keys(ERROR_CODES);

  it('src/ uses no code that the registry lacks', () => {
    const used = new Set<string>();
    for (const file of sourceFiles(path.join(ROOT, 'src'))) {
      if (file.endsWith(`${path.sep}errors.ts`) && path.dirname(file) === path.join(ROOT, 'src')) continue;
      for (const match of readFileSync(file, 'utf8').matchAll(/'(E_[A-Z_]+)'/g)) used.add(match[1]!);
    }
    expect(used.size).toBeGreaterThan(15);
    expect([...used].filter((code) => !isErrorCode(code))).toEqual([]);
  });

  it('the README documents every code, and only those', () => {
    const section = readme.slice(readme.indexOf('## Error codes'), readme.indexOf('\n## ', readme.indexOf('## Error codes') + 3));
    const documented = [...section.matchAll(/^\| `(E_[A-Z_]+)` \|/gm)].map((match) => match[1]);
    expect(documented.sort()).toEqual([...codes].sort());
  });

  it('a FraudwallError keeps its code and its class name', () => {
    class ExampleError extends FraudwallError {}
    const error = new ExampleError('E_LISTEN', 'cannot listen');
    expect(error.code).toBe('E_LISTEN');
    expect(error.name).toBe('ExampleError');
    expect(error).toBeInstanceOf(Error);
    expect(isErrorCode('E_NOT_A_CODE')).toBe(false);
  });
});
