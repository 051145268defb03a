import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach } from 'vitest';

/** A fresh directory for every test of the suite, removed after it; `path` is valid inside a test. */
export function useTempDir(prefix: string): { readonly path: string } {
  const current = { path: '' };
  beforeEach(async () => {
    current.path = await mkdtemp(path.join(tmpdir(), `fraudwall-${prefix}-`));
  });
  afterEach(async () => {
    await rm(current.path, { recursive: true, force: true });
    current.path = '';
  });
  return current;
}
