import { afterEach, describe, expect, it, vi } from 'vitest';
import { findTool, requireTool } from '../helpers/require-tool.js';

describe('requireTool', () => {
  const savedCi = process.env['CI'];
  afterEach(() => {
    if (savedCi === undefined) delete process.env['CI'];
    else process.env['CI'] = savedCi;
    vi.restoreAllMocks();
  });

  it('finds an installed executable', () => {
    expect(requireTool('sh', 'dash')).toBe(true);
    expect(findTool('sh')).toMatch(/\/sh$/);
  });

  it('warns once and returns false outside CI', () => {
    delete process.env['CI'];
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    expect(requireTool('no-such-tool-fraudwall', 'no-such-package')).toBe(false);
    expect(requireTool('no-such-tool-fraudwall', 'no-such-package')).toBe(false);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]?.[0])).toContain('apt-get install -y --no-install-recommends no-such-package');
  });

  it('throws in CI, naming the apt package', () => {
    process.env['CI'] = 'true';
    expect(() => requireTool('no-such-tool-fraudwall', 'no-such-package')).toThrow(/no-such-package/);
  });
});
