/**
 * deploy/systemd/fraudwall.service (issue #17): runs the prebuilt dist/ with an absolute state
 * directory that systemd creates (StateDirectory=), binds port 53 with CAP_NET_BIND_SERVICE only,
 * is hardened, and reloads with SIGHUP; `systemd-analyze verify` accepts it. deploy/fraudwall.yaml
 * (the config it names) is a configuration fraudwall accepts, and the logrotate file reloads
 * instead of truncating.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { LAUNCH_ENV, NODE_LAUNCH_FLAGS } from '../../src/runtime-flags.js';
import { findTool, requireTool } from '../helpers/require-tool.js';
import { runProgram } from '../helpers/run-program.js';

const DEPLOY = fileURLToPath(new URL('../../deploy/', import.meta.url));
const UNIT_FILE = path.join(DEPLOY, 'systemd', 'fraudwall.service');
const unitText = readFileSync(UNIT_FILE, 'utf8');

/** `Key=value` lines of one [Section], repeated keys in order (comments and blank lines skipped). */
function section(text: string, name: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = header[1]!;
      continue;
    }
    if (current !== name) continue;
    const eq = line.indexOf('=');
    const key = line.slice(0, eq);
    out.set(key, [...(out.get(key) ?? []), line.slice(eq + 1)]);
  }
  return out;
}

const service = section(unitText, 'Service');
const one = (key: string): string => {
  const values = service.get(key) ?? [];
  expect(values, `${key}= set once in [Service]`).toHaveLength(1);
  return values[0]!;
};

describe('the systemd unit', () => {
  const execStart = one('ExecStart').split(/\s+/);

  it('runs node on the prebuilt dist/cli.js serve with the config and an absolute state directory systemd creates', () => {
    // The launch flags and environment npm start and the Docker image use (src/runtime-flags.ts).
    const launch = NODE_LAUNCH_FLAGS.length;
    expect(execStart.slice(0, launch + 2)).toEqual(['/usr/bin/node', ...NODE_LAUNCH_FLAGS, '/opt/fraudwall/dist/cli.js']);
    expect(service.get('Environment')).toEqual(Object.entries(LAUNCH_ENV).map(([key, value]) => `${key}=${value}`));
    expect(execStart[launch + 2]).toBe('serve');
    const flags = Object.fromEntries(execStart.slice(launch + 3).join(' ').split(' --').filter(Boolean).map((pair) => pair.replace(/^--/, '').split(' ') as [string, string]));
    expect(flags['config']).toBe('/etc/fraudwall/fraudwall.yaml');
    expect(one('StateDirectory')).toBe('fraudwall');
    expect(flags['state']).toBe('/var/lib/fraudwall'); // StateDirectory=fraudwall is /var/lib/fraudwall
    expect(one('ReadWritePaths').split(/\s+/)).toContain(flags['state']);
    expect(one('User')).not.toBe('root');
  });

  it('binds port 53 through CAP_NET_BIND_SERVICE alone, and is hardened', () => {
    expect(one('AmbientCapabilities')).toBe('CAP_NET_BIND_SERVICE');
    expect(one('CapabilityBoundingSet')).toBe('CAP_NET_BIND_SERVICE');
    expect(one('NoNewPrivileges')).toBe('yes');
    expect(one('ProtectSystem')).toBe('strict');
    expect(one('ProtectHome')).toBe('yes');
    expect(one('PrivateTmp')).toBe('yes');
    // V8's JIT needs W+X memory: this setting would kill node at start.
    expect(service.has('MemoryDenyWriteExecute')).toBe(false);
  });

  it('reloads with SIGHUP and stops with SIGTERM to the main process', () => {
    expect(one('ExecReload')).toBe('/bin/kill -HUP $MAINPID');
    expect(one('KillMode')).toBe('mixed');
    expect(Number(one('TimeoutStopSec'))).toBeGreaterThan(5); // fraudwall's own hard limit is 5 s
  });

  it('names a config file fraudwall accepts, with the same state directory', () => {
    const config = loadConfig({ flags: { config: path.join(DEPLOY, 'fraudwall.yaml') }, env: {} });
    expect(config.state).toBe('/var/lib/fraudwall');
    expect(config.adminTokenFile).toBe('/etc/fraudwall/admin-token');
    expect(config.listen.map((a) => a.port)).toEqual([53, 53]);
    expect(`${config.http.host}:${config.http.port}`).toBe('127.0.0.1:8053');
  });

  it('the logrotate file renames and reloads (no copytruncate) the query log in LogsDirectory', () => {
    const logrotate = readFileSync(path.join(DEPLOY, 'logrotate', 'fraudwall'), 'utf8');
    expect(logrotate).not.toMatch(/^\s*copytruncate/m);
    expect(logrotate).toMatch(/postrotate\s+systemctl reload fraudwall/);
    expect(logrotate).toContain(`/var/log/${one('LogsDirectory')}/queries.ndjson`);
  });

  describe.skipIf(!requireTool('systemd-analyze', 'systemd'))('systemd-analyze verify', () => {
    // verify checks that ExecStart's program exists on the machine it runs on: point it at this
    // test's node (the unit's /usr/bin/node may be absent here); everything else is the unit as shipped.
    const verify = async (text: string): Promise<{ code: number | null; output: string }> => {
      const dir = mkdtempSync(path.join(tmpdir(), 'fraudwall-unit-'));
      try {
        const file = path.join(dir, 'fraudwall.service');
        writeFileSync(file, text.replace(/^ExecStart=\/usr\/bin\/node /m, `ExecStart=${process.execPath} `));
        const { code, output } = await runProgram(findTool('systemd-analyze')!, ['verify', file], { timeoutMs: 30_000 });
        return { code, output };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };

    it('accepts the unit without a warning', async () => {
      expect(await verify(unitText)).toEqual({ code: 0, output: '' });
    });

    it('rejects a broken copy (so the check above can fail)', async () => {
      const broken = await verify(unitText.replace('ExecReload=/bin/kill', 'ExecReload=/nonexistent/kill').replace('ProtectSystem=strict', 'ProtectSystem=stricct'));
      expect(broken.code).not.toBe(0);
      expect(broken.output).toContain('stricct');
    });
  });
});
