import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * Directories searched after $PATH. Debian installs unbound and unbound-checkconf in /usr/sbin,
 * which a non-root user's PATH often lacks.
 */
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

const warned = new Set<string>();

/** Absolute path of an executable found on $PATH (or in an sbin directory), or null. */
export function findTool(name: string): string | null {
  if (name.includes('/')) return isExecutable(name) ? name : null;
  const dirs = (process.env['PATH'] ?? '').split(delimiter).filter((d) => d !== '');
  for (const dir of [...dirs, ...EXTRA_DIRS]) {
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * True when `name` is installed. When it is missing: in CI (`CI=true`) throw, because a CI run must not
 * silently skip; elsewhere warn once and return false so the suite can be skipped:
 * `describe.skipIf(!requireTool('unbound', 'unbound'))(...)`.
 */
export function requireTool(name: string, debianPackage: string): boolean {
  if (findTool(name) !== null) return true;
  const install = `apt-get install -y --no-install-recommends ${debianPackage}`;
  if (process.env['CI'] === 'true') {
    throw new Error(`'${name}' is required in CI but was not found on PATH: install it with \`${install}\` (Debian package '${debianPackage}').`);
  }
  if (!warned.has(name)) {
    warned.add(name);
    console.warn(`[skip] '${name}' not found on PATH, skipping the tests that need it; install it with \`${install}\`.`);
  }
  return false;
}
